// Reads ReelFlow's topics as a downstream service does: kafkajs, Confluent's Avro deserializer
// with its default settings, read_committed. Reads from the beginning up to the end of every
// partition at start, then prints a JSON line per render (its newest status and OpenLineage
// events) and a summary line with the records read and any failures.
//   node reelflow-events.mjs <bootstrap servers> <schema registry url> [topic ...]
import { Kafka, logLevel } from 'kafkajs';
import { AvroDeserializer, SchemaRegistryClient, SerdeType } from '@confluentinc/schemaregistry';

const [brokers, registryUrl, ...named] = process.argv.slice(2);
const topics = named.length > 0 ? named : ['render.status', 'render.lineage'];
const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED']);

const kafka = new Kafka({ clientId: 'reelflow-events', brokers: brokers.split(','), logLevel: logLevel.WARN });
const registry = new SchemaRegistryClient({ baseURLs: [registryUrl] });
const avro = new AvroDeserializer(registry, SerdeType.VALUE, {});

// Where to stop: the end of every partition now.
const admin = kafka.admin();
await admin.connect();
const pending = new Map();
for (const topic of topics) {
  for (const p of await admin.fetchTopicOffsets(topic)) {
    if (BigInt(p.high) > BigInt(p.low)) pending.set(`${topic}/${p.partition}`, BigInt(p.high));
  }
}
await admin.disconnect();

const statuses = new Map(); // requestId -> its newest RenderStatus
const lineage = new Map(); // requestId -> its OpenLineage events, in order
const records = Object.fromEntries(topics.map((t) => [t, 0]));
const failures = [];

const consumer = kafka.consumer({ groupId: `reelflow-events-${Date.now()}`, readUncommitted: false });
let caughtUp;
const atEnd = new Promise((resolve) => (caughtUp = resolve));
consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
  const key = `${payload.topic}/${payload.partition}`;
  if (pending.has(key) && BigInt(payload.lastOffset) + 1n >= pending.get(key)) pending.delete(key);
  if (pending.size === 0) caughtUp();
});
if (pending.size === 0) caughtUp();
await consumer.connect();
await consumer.subscribe({ topics, fromBeginning: true });
await consumer.run({
  eachMessage: async ({ topic, partition, message }) => {
    records[topic] += 1;
    try {
      if (message.value === null) return; // a tombstone: the key was deleted (compacted topics)
      if (topic === 'render.lineage') {
        const id = message.key.toString();
        lineage.set(id, [...(lineage.get(id) ?? []), JSON.parse(message.value.toString())]);
        return;
      }
      const value = await avro.deserialize(topic, message.value);
      if (topic === 'render.status') {
        const held = statuses.get(value.requestId);
        if (held === undefined || value.version > held.version) statuses.set(value.requestId, value);
      }
    } catch (e) {
      failures.push({ topic, partition, offset: message.offset, error: String(e?.message ?? e) });
    }
  },
});
await atEnd;
await consumer.disconnect();

for (const id of new Set([...statuses.keys(), ...lineage.keys()])) {
  const s = statuses.get(id);
  const events = lineage.get(id) ?? [];
  console.log(JSON.stringify({
    requestId: id,
    state: s?.state,
    final: FINAL.has(s?.state),
    version: s?.version,
    seed: s?.seed,
    outputs: (s?.outputs ?? []).map((o) => o.key),
    lineage: events.map((e) => e.eventType),
    datasets: events.flatMap((e) => e.outputs ?? []).map((d) => `${d.namespace}/${d.name}`),
  }));
}
console.log(JSON.stringify({ summary: true, records, failures }));
