import { PLACEHOLDER_TEXT } from './simulate';

/** An insight as the intel agent produces it (and shares on `swarm.intel.insights`). */
export interface Insight {
  topic: string;
  finding: string;
  score: number;
}

const SOURCES = ['market-feed', 'news-wire', 'stats-api', 'weather-api', 'social-stream'];
const TOPICS = ['pricing', 'demand', 'sentiment', 'supply', 'latency', 'retention', 'growth'];
const ADJECTIVES = ['steady', 'sharp', 'unexpected', 'seasonal', 'gradual', 'volatile'];
const MOVES = ['rise', 'drop', 'shift', 'plateau', 'spike'];

function pick<T>(list: readonly T[], random: () => number): T {
  return list[Math.floor(random() * list.length) % list.length]!;
}

function str(v: unknown, dflt: string, max = 200): string {
  return typeof v === 'string' && v.length > 0 ? v.slice(0, max) : dflt;
}

function intIn(v: unknown, dflt: number, min: number, max: number): number {
  return typeof v === 'number' && Number.isInteger(v) ? Math.min(max, Math.max(min, v)) : dflt;
}

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** `data.fetch`: records from a (simulated) upstream API. Input: `{source?, query?, limit? (1–50, default 3)}`. */
export function fetchOutput(input: Record<string, unknown>, random: () => number, placeholder: boolean): Record<string, unknown> {
  const source = str(input.source, pick(SOURCES, random));
  const query = str(input.query, pick(TOPICS, random));
  const limit = intIn(input.limit, 3, 1, 50);
  const records = Array.from({ length: limit }, (_, i) => ({
    id: `${source}-${Math.floor(random() * 1e9).toString(36)}-${i + 1}`,
    title: placeholder ? PLACEHOLDER_TEXT : `${query} ${pick(MOVES, random)} #${i + 1}`,
    value: round(random() * 1000),
    url: `https://${source}.example.com/items/${i + 1}`,
  }));
  return {
    source,
    query,
    fetchedAt: new Date().toISOString(),
    records,
    ...(placeholder ? { summary: PLACEHOLDER_TEXT } : {}),
  };
}

/** `content.generate`: a short article. Input: `{topic?, tone?, paragraphs? (1–10, default 2)}`. */
export function generateOutput(
  input: Record<string, unknown>,
  random: () => number,
  placeholder: boolean,
  insights: readonly Insight[],
): Record<string, unknown> {
  const topic = str(input.topic, pick(TOPICS, random));
  const tone = str(input.tone, 'neutral', 50);
  const paragraphs = intIn(input.paragraphs, 2, 1, 10);
  const related = insights.slice(-3);
  const body = placeholder
    ? PLACEHOLDER_TEXT
    : Array.from({ length: paragraphs }, (_, i) => {
        const hint = related[i % Math.max(1, related.length)];
        const context = hint ? ` Analysts report a ${hint.finding} (score ${hint.score}).` : '';
        return `Paragraph ${i + 1} on ${topic}: a ${pick(ADJECTIVES, random)} ${pick(MOVES, random)} in ${topic} shapes the outlook.${context}`;
      }).join('\n\n');
  return {
    title: placeholder ? 'TODO: title' : `${topic[0]!.toUpperCase()}${topic.slice(1)}: what changed this week`,
    body,
    tone,
    wordCount: body.split(/\s+/).filter(Boolean).length,
    relatedInsights: related.map((i) => i.topic),
  };
}

/** `intel.analyze`: insights with scores. Input: `{subject?, count? (1–10, default 2)}`. */
export function analyzeOutput(
  input: Record<string, unknown>,
  random: () => number,
  placeholder: boolean,
): { output: Record<string, unknown>; insights: Insight[] } {
  const subject = str(input.subject, pick(TOPICS, random));
  const count = intIn(input.count, 2, 1, 10);
  const insights: Insight[] = Array.from({ length: count }, () => ({
    topic: `${subject}.${pick(TOPICS, random)}`,
    finding: placeholder ? PLACEHOLDER_TEXT : `${pick(ADJECTIVES, random)} ${pick(MOVES, random)} in ${subject}`,
    score: round(random(), 3),
  }));
  const confidence = round(0.5 + random() * 0.5, 3);
  return { output: { subject, insights, confidence, ...(placeholder ? { summary: PLACEHOLDER_TEXT } : {}) }, insights };
}

/** `quality.review`: checks a text. Input: `{content? | text?, minScore? (0–1, default 0.6)}`; placeholder text is flagged. */
export function reviewOutput(input: Record<string, unknown>, random: () => number, placeholder: boolean): Record<string, unknown> {
  const text = str(input.content ?? input.text, '', 100_000);
  const minScore = typeof input.minScore === 'number' && input.minScore >= 0 && input.minScore <= 1 ? input.minScore : 0.6;
  const issues: Array<{ severity: 'low' | 'medium' | 'high'; message: string }> = [];
  if (/\bTODO\b|lorem ipsum/i.test(text)) issues.push({ severity: 'high', message: 'placeholder text found' });
  if (text.length > 0 && text.length < 40) issues.push({ severity: 'medium', message: 'content is very short' });
  if (random() < 0.2) issues.push({ severity: 'low', message: 'consider a more specific title' });
  const penalty = issues.reduce((s, i) => s + (i.severity === 'high' ? 0.5 : i.severity === 'medium' ? 0.2 : 0.05), 0);
  const score = round(Math.max(0, Math.min(1, 0.75 + random() * 0.25 - penalty)), 3);
  return {
    approved: score >= minScore && !issues.some((i) => i.severity === 'high'),
    score,
    issues,
    comments: placeholder ? PLACEHOLDER_TEXT : issues.length === 0 ? 'Looks good.' : `${issues.length} issue(s) to address.`,
  };
}

/** Insights handed in the input (a workflow maps the analysis into the writer's input), when they look like insights. */
export function insightsFromInput(v: unknown): Insight[] {
  if (!Array.isArray(v)) return [];
  return v
    .filter((i): i is Record<string, unknown> => typeof i === 'object' && i !== null)
    .map((i) => ({ topic: str(i.topic, 'topic'), finding: str(i.finding, ''), score: typeof i.score === 'number' ? i.score : 0 }))
    .filter((i) => i.finding.length > 0);
}

/** `content.publish`: puts an article on a (simulated) wire. Input: `{title?, body?, channel? (default wire)}`. */
export function publishOutput(input: Record<string, unknown>, random: () => number, placeholder: boolean): Record<string, unknown> {
  const title = str(input.title, 'Untitled', 500);
  const body = str(input.body, '', 100_000);
  const channel = str(input.channel, 'wire', 50);
  const slug =
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60) || 'article';
  return {
    url: placeholder ? PLACEHOLDER_TEXT : `https://${channel}.example.com/${slug}-${Math.floor(random() * 1e9).toString(36)}`,
    channel,
    title: placeholder ? PLACEHOLDER_TEXT : title,
    wordCount: body.split(/\s+/).filter(Boolean).length,
    publishedAt: new Date().toISOString(),
  };
}
