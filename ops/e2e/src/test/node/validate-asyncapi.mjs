// Validates an AsyncAPI document with the AsyncAPI Initiative's own JSON schema of AsyncAPI 3.0.0
// (@asyncapi/specs) and Ajv, and prints {valid, errors, specSha256} as one JSON line.
//   node validate-asyncapi.mjs <asyncapi.json>
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const spec = readFileSync(createRequire(import.meta.url).resolve('@asyncapi/specs/schemas/3.0.0.json'));
// The specs bundle the draft-07 meta-schema themselves: Ajv must not add its own copy.
const ajv = new Ajv({ allErrors: true, strict: false, meta: false, validateSchema: false });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(spec));
const valid = validate(JSON.parse(readFileSync(process.argv[2], 'utf8')));
console.log(JSON.stringify({
  valid,
  errors: (validate.errors ?? []).slice(0, 20),
  specSha256: createHash('sha256').update(spec).digest('hex'),
}));
