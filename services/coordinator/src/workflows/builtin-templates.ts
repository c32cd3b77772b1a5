import type { RegisterTemplateDto } from '@swarm-mesh/contracts';

/**
 * Templates every tenant has without registering them (a tenant may register its own under the
 * same name to replace one). `wire-report` is the seeds' pipeline on the demo swarm's
 * capabilities: data fetch → intel analysis → content generation (validated: no placeholders)
 * → quality review (approval gate) → publish, with requirement tracking and a quality gate.
 */
export const BUILTIN_TEMPLATES: readonly RegisterTemplateDto[] = [
  {
    name: 'wire-report',
    description:
      'The wire report pipeline: fetch data → analyse → write the article (checked for placeholders) → quality review → human approval → publish.',
    params: [
      { name: 'topic', type: 'string', description: 'What the report is about', required: true },
      { name: 'records', type: 'number', description: 'Records to fetch (1–50)' },
      { name: 'paragraphs', type: 'number', description: 'Paragraphs of the article (1–10)' },
      {
        name: 'placeholder',
        type: 'boolean',
        description: 'Make the writer return placeholder text (to see the validation checkpoint at work)',
      },
    ],
    defaults: { topic: 'markets', records: 5, paragraphs: 3, placeholder: false },
    workflow: {
      name: 'Wire report: ${params.topic}',
      failurePolicy: 'fail_fast',
      labels: { pipeline: 'wire-report', topic: '${params.topic}' },
      nodes: [
        {
          key: 'fetch',
          capability: 'data.fetch',
          input: { source: 'news-wire', query: '${params.topic}', limit: '${params.records}' },
          validation: { requiredFields: ['records'], nonEmpty: ['records'] },
        },
        {
          key: 'analyse',
          capability: 'intel.analyze',
          dependsOn: ['fetch'],
          input: { count: 3 },
          inputs: { subject: '${fetch.result.query}', records: '${fetch.result.records}' },
          validation: { nonEmpty: ['insights'] },
        },
        {
          key: 'write',
          capability: 'content.generate',
          dependsOn: ['analyse'],
          input: { tone: 'wire', paragraphs: '${params.paragraphs}', simulate: { placeholder: '${params.placeholder}' } },
          inputs: { topic: '${fetch.result.query}', insights: '${analyse.result.insights}' },
          retry: { maxAttempts: 3, backoffMs: [200, 500] },
          validation: {
            requiredFields: ['title', 'body'],
            nonEmpty: ['title', 'body'],
            minSize: 120,
            onFailure: 'needs_review',
            maxValidationRetries: 1,
          },
        },
        {
          key: 'review',
          capability: 'quality.review',
          dependsOn: ['write'],
          input: { minScore: 0.6 },
          inputs: { content: '${write.result.body}' },
          validation: { requiredFields: ['approved', 'score'], forbiddenPatterns: [] },
          approval: { required: true },
        },
        {
          key: 'publish',
          capability: 'content.publish',
          dependsOn: ['review'],
          input: { channel: 'wire' },
          inputs: { title: '${write.result.title}', body: '${write.result.body}', reviewScore: '${review.result.score}' },
          validation: { requiredFields: ['url'], nonEmpty: ['url'] },
        },
      ],
      requirements: [
        { id: 'REQ-1', description: 'Source data fetched', satisfiedBy: [{ node: 'fetch', field: 'records' }] },
        { id: 'REQ-2', description: 'Analysis produced insights', satisfiedBy: [{ node: 'analyse', field: 'insights' }] },
        { id: 'REQ-3', description: 'Article written without placeholders', satisfiedBy: [{ node: 'write', field: 'body' }] },
        { id: 'REQ-4', description: 'Quality review done and approved by a human', satisfiedBy: [{ node: 'review', field: 'score' }] },
        { id: 'REQ-5', description: 'Report published', satisfiedBy: [{ node: 'publish', field: 'url' }] },
      ],
      qualityGate: { minCoverage: 1 },
    },
  },
];
