import {
  AGENT_DOMAINS,
  agentInboxSubject,
  agentSubject,
  ALL_CHANNELS,
  allChannelSubjects,
  channelSubject,
  Channels,
  commandSubject,
  eventSubject,
  EVENTS_WILDCARD,
  HealthCommands,
  idToken,
  namespacedName,
  namespacedQueue,
  namespacedSubject,
  SERVICE_NAMES,
  stripNamespace,
  SWARM_CHANNELS,
  token,
  validateNamespace,
} from '@swarm-mesh/contracts';

const EXPECTED_CHANNELS = [
  'swarm.data.fetch_requests',
  'swarm.data.api_responses',
  'swarm.data.cache_updates',
  'swarm.content.generation_requests',
  'swarm.content.review_queue',
  'swarm.content.approved',
  'swarm.intel.analysis_requests',
  'swarm.intel.insights',
  'swarm.intel.predictions',
  'swarm.quality.validation',
  'swarm.quality.errors',
  'swarm.quality.metrics',
  'swarm.infra.health',
  'swarm.infra.scaling',
  'swarm.infra.alerts',
];

/** A NATS subject token: no whitespace, dots, or wildcards inside. */
const WIRE_SUBJECT_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

describe('swarm channels', () => {
  it('has exactly the fifteen channels of the brief, three per domain', () => {
    expect(allChannelSubjects()).toEqual(EXPECTED_CHANNELS);
    expect(new Set(allChannelSubjects()).size).toBe(15);
    for (const d of AGENT_DOMAINS) expect(SWARM_CHANNELS[d]).toHaveLength(3);
  });

  it('builds each channel subject and has a definition for it', () => {
    for (const d of AGENT_DOMAINS) {
      for (const c of SWARM_CHANNELS[d]) {
        const subject = channelSubject(d, c as never);
        expect(subject).toBe(`swarm.${d}.${c}`);
        const def = (Channels[d] as Record<string, { subject: string; name: string; kind: string }>)[c];
        expect(def).toMatchObject({ kind: 'message', subject, name: `channel.${d}.${c}` });
      }
    }
    expect(ALL_CHANNELS.map((d) => d.subject)).toEqual(EXPECTED_CHANNELS);
  });

  it('rejects unknown domains and channels', () => {
    expect(() => channelSubject('nope' as never, 'insights' as never)).toThrow(/unknown domain/);
    expect(() => channelSubject('intel', 'approved' as never)).toThrow(/unknown channel "intel.approved"/);
  });
});

describe('command subjects', () => {
  it('builds swarm.cmd.<service>.<command…>', () => {
    expect(commandSubject('coordinator', 'health')).toBe('swarm.cmd.coordinator.health');
    expect(commandSubject('coordinator', 'tasks.submit')).toBe('swarm.cmd.coordinator.tasks.submit');
    expect(commandSubject('resource-allocator', 'pools.get_1')).toBe('swarm.cmd.resource-allocator.pools.get_1');
  });

  it.each(['', 'Tasks', 'tasks..submit', 'tasks.*', 'tasks.>', 'tasks submit', 'tâche', '.tasks', 'tasks.', 'a'.repeat(129)])(
    'rejects the bad command %j',
    (command) => {
      expect(() => commandSubject('coordinator', command)).toThrow(/invalid subject command token/);
    },
  );

  it('every service has a health command on its own subject', () => {
    for (const s of SERVICE_NAMES) {
      expect(HealthCommands[s]).toMatchObject({ kind: 'command', name: `${s}.health`, service: s, subject: `swarm.cmd.${s}.health` });
      expect(HealthCommands[s].maxPayloadBytes).toBe(16 * 1024);
    }
  });
});

describe('event and agent subjects', () => {
  it('builds swarm.evt.<entity>.<event>', () => {
    expect(eventSubject('task', 'succeeded')).toBe('swarm.evt.task.succeeded');
    expect(EVENTS_WILDCARD).toBe('swarm.evt.>');
  });

  it.each([
    ['Task', 'created'],
    ['task', 'Created'],
    ['ta.sk', 'created'],
    ['task', '*'],
    ['task', '>'],
    ['', 'created'],
    ['task', 'created now'],
  ])('rejects the event subject %j.%j', (entity, event) => {
    expect(() => eventSubject(entity, event)).toThrow(/invalid subject/);
  });

  it('builds agent → mesh and mesh → agent subjects; agent ids may be mixed case', () => {
    expect(agentSubject('Fetcher-1_a', 'heartbeat')).toBe('swarm.agent.Fetcher-1_a.heartbeat');
    expect(agentInboxSubject('fetcher-1', 'dispatch')).toBe('swarm.agent.fetcher-1.inbox.dispatch');
    expect(agentSubject('*', 'results')).toBe('swarm.agent.*.results');
    expect(agentInboxSubject('*', 'dispatch')).toBe('swarm.agent.*.inbox.dispatch');
  });

  it.each(['a.b', 'a b', '', 'a*', 'a>', 'ä', 'x'.repeat(129)])('rejects the agent id %j', (id) => {
    expect(() => agentSubject(id, 'heartbeat')).toThrow(/invalid subject agent id/);
    expect(() => agentInboxSubject(id, 'dispatch')).toThrow(/invalid subject agent id/);
  });

  it('rejects bad verbs', () => {
    expect(() => agentSubject('a1', 'Heart.beat')).toThrow(/invalid subject verb/);
    expect(() => agentInboxSubject('a1', '*')).toThrow(/invalid subject verb/);
  });

  it('token() and idToken() accept exactly their alphabets', () => {
    expect(token('abc_1-2')).toBe('abc_1-2');
    expect(() => token('ABC')).toThrow();
    expect(idToken('ABC_1-2')).toBe('ABC_1-2');
    expect(idToken('*')).toBe('*');
    expect(idToken('>')).toBe('>');
    expect(() => idToken('a.b')).toThrow();
  });
});

describe('namespacing', () => {
  it('prefixes subjects, names and queue groups and leaves them alone without a namespace', () => {
    expect(namespacedSubject('t1abc', 'swarm.cmd.coordinator.health')).toBe('t1abc.swarm.cmd.coordinator.health');
    expect(namespacedSubject('', 'swarm.cmd.coordinator.health')).toBe('swarm.cmd.coordinator.health');
    expect(namespacedName('t1abc', 'SWARM_EVENTS')).toBe('T1ABC_SWARM_EVENTS');
    expect(namespacedName('', 'SWARM_EVENTS')).toBe('SWARM_EVENTS');
    expect(namespacedQueue('t1abc', 'coordinator')).toBe('t1abc-coordinator');
    expect(namespacedQueue('', 'coordinator')).toBe('coordinator');
  });

  it('strips only its own namespace', () => {
    expect(stripNamespace('t1abc', 't1abc.swarm.intel.insights')).toBe('swarm.intel.insights');
    expect(stripNamespace('t1abc', 't1abcd.swarm.intel.insights')).toBe('t1abcd.swarm.intel.insights');
    expect(stripNamespace('', 'swarm.intel.insights')).toBe('swarm.intel.insights');
  });

  it('every built subject is a valid wire subject once namespaced', () => {
    const subjects = [
      ...allChannelSubjects(),
      ...SERVICE_NAMES.map((s) => HealthCommands[s].subject),
      eventSubject('task', 'created'),
      agentSubject('A-1', 'register'),
      agentInboxSubject('A-1', 'control'),
    ];
    for (const s of subjects) expect(namespacedSubject('t0a1b2c3d', s)).toMatch(WIRE_SUBJECT_RE);
  });

  it.each(['', 'a', 't1234abcd', 'abc_def', 'a'.repeat(32)])('accepts the namespace %j', (ns) => {
    expect(validateNamespace(ns)).toBe(ns);
  });

  it.each(['A', '1abc', '_abc', 'a.b', 'a-b', 'a b', 'a*', 'a'.repeat(33), 'äbc'])('rejects the namespace %j', (ns) => {
    expect(() => validateNamespace(ns)).toThrow(/invalid namespace/);
  });
});
