// Reads an AsyncAPI document from the file given as the first argument, parses it with the
// official parser and prints every diagnostic as one JSON line; exits 1 when one is an error.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const text = readFileSync(process.argv[2], "utf8");
const parser = new Parser();
const { document, diagnostics } = await parser.parse(text);
let errors = 0;
for (const d of diagnostics) {
  // Severity: 0 error, 1 warning, 2 information, 3 hint.
  if (d.severity === 0) errors += 1;
  console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
}
if (!document || errors > 0) {
  console.error(`the AsyncAPI parser refused the document: ${errors} error(s)`);
  process.exit(1);
}
console.log(JSON.stringify({ ok: true, version: document.version(), channels: document.channels().length, operations: document.operations().length }));
