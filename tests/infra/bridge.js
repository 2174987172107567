#!/usr/bin/env node
// Bridge from the Python checks to three npm packages, so that nothing here
// re-implements HCL or guesses at the provider:
//   parse FILE...     HashiCorp's HCL parser (@cdktf/hcl2json, hcl2json compiled
//                     to WebAssembly): each file as JSON, or its parse error.
//   format FILE...    HashiCorp's hclwrite formatter (@cdktf/hcl-tools), the one
//                     `terraform fmt` uses: each file's canonical text.
//   schema KIND:TYPE... The AWS provider schema, read from the TypeScript
//                     declarations of @cdktf/provider-aws (generated from the
//                     provider's own schema): arguments with their snake_case
//                     names and optionality, blocks with their nesting mode.
//                     KIND is `resource`, `data` or `provider`.
// Every command prints one JSON object on stdout, keyed by its arguments.
"use strict";

const fs = require("fs");
const path = require("path");
const ts = require("typescript");

const PROVIDER_LIB = path.join(
  path.dirname(require.resolve("@cdktf/provider-aws/package.json")),
  "lib",
);

async function parseFiles(files) {
  const { parse } = require("@cdktf/hcl2json");
  const out = {};
  for (const file of files) {
    try {
      out[file] = { body: await parse(file, fs.readFileSync(file, "utf8")) };
    } catch (err) {
      out[file] = { error: String(err.message || err) };
    }
  }
  return out;
}

async function formatFiles(files) {
  const { format } = require("@cdktf/hcl-tools");
  const out = {};
  for (const file of files) {
    try {
      out[file] = { formatted: await format(fs.readFileSync(file, "utf8")) };
    } catch (err) {
      out[file] = { error: String(err.message || err) };
    }
  }
  return out;
}

// `resource:aws_ecs_service` -> lib/ecs-service, `data:aws_region` ->
// lib/data-aws-region, `provider:aws` -> lib/provider. The docs link in each
// declaration names the Terraform type, and confirms the guess.
function declarationFor(kind, type) {
  if (kind === "provider") {
    return { dir: "provider", docs: /\/docs#/ };
  }
  const bare = type.replace(/^aws_/, "");
  if (kind === "resource") {
    return {
      dir: bare.replace(/_/g, "-"),
      docs: new RegExp(`/docs/resources/${bare}#`),
    };
  }
  return {
    dir: `data-${type.replace(/_/g, "-")}`,
    docs: new RegExp(`/docs/data-sources/${bare}#`),
  };
}

function jsDocText(node) {
  return (node.jsDoc || []).map((doc) => doc.getText()).join("\n");
}

// The snake_case name is the fragment of the registry link in the doc
// comment: `.../docs/resources/ecs_service#desired_count EcsService#...`.
function snakeName(text) {
  const match = /docs[^#\s]*#([a-z0-9_]+) /.exec(text);
  return match ? match[1] : null;
}

// A property's type: a nested block type (an interface of this file) and
// whether it may repeat (`X[] | cdktf.IResolvable`) or not (`X`).
function blockType(typeNode, interfaces) {
  const candidates = ts.isUnionTypeNode(typeNode) ? typeNode.types : [typeNode];
  for (const t of candidates) {
    if (ts.isArrayTypeNode(t) && ts.isTypeReferenceNode(t.elementType)) {
      const name = t.elementType.typeName.getText();
      if (interfaces.has(name)) return { name, repeated: true };
    }
    if (ts.isTypeReferenceNode(t)) {
      const name = t.typeName.getText();
      if (interfaces.has(name)) return { name, repeated: false };
    }
  }
  return null;
}

function describe(iface, interfaces) {
  const out = { arguments: {}, blocks: {} };
  for (const member of iface.members) {
    if (!ts.isPropertySignature(member) || !member.type) continue;
    const doc = jsDocText(member);
    const name = snakeName(doc);
    if (!name) continue;
    const required = !member.questionToken;
    const nested = blockType(member.type, interfaces);
    if (nested && new RegExp(`^\\s*\\*\\s*${name} block$`, "m").test(doc)) {
      out.blocks[name] = {
        required,
        repeated: nested.repeated,
        ...describe(interfaces.get(nested.name), interfaces),
      };
    } else {
      out.arguments[name] = { required };
    }
  }
  return out;
}

function schemaOf(spec) {
  const [kind, type] = spec.split(":");
  if (!["resource", "data", "provider"].includes(kind) || !type) {
    return { error: `bad schema request ${spec} (want KIND:TYPE)` };
  }
  const { dir, docs } = declarationFor(kind, type);
  const file = path.join(PROVIDER_LIB, dir, "index.d.ts");
  if (!fs.existsSync(file)) {
    return { error: `the AWS provider has no ${kind} type ${type}` };
  }
  const source = ts.createSourceFile(
    file,
    fs.readFileSync(file, "utf8"),
    ts.ScriptTarget.Latest,
    true,
  );
  const interfaces = new Map();
  for (const stmt of source.statements) {
    if (ts.isInterfaceDeclaration(stmt)) interfaces.set(stmt.name.text, stmt);
  }
  // The arguments interface: `AwsProviderConfig` for the provider, and for a
  // resource or data source the one that takes Terraform's meta-arguments.
  const config =
    kind === "provider"
      ? interfaces.get("AwsProviderConfig")
      : [...interfaces.values()].find((i) =>
          (i.heritageClauses || []).some((h) =>
            h.getText().includes("TerraformMetaArguments"),
          ),
        );
  if (!config || !docs.test(config.getText())) {
    return { error: `the AWS provider has no ${kind} type ${type}` };
  }
  return describe(config, interfaces);
}

async function main() {
  const [command, ...args] = process.argv.slice(2);
  let result;
  if (command === "parse") result = await parseFiles(args);
  else if (command === "format") result = await formatFiles(args);
  else if (command === "schema")
    result = Object.fromEntries(args.map((a) => [a, schemaOf(a)]));
  else {
    process.stderr.write("usage: bridge.js parse|format|schema ARG...\n");
    process.exit(2);
  }
  // The Go runtime behind the WebAssembly modules keeps the event loop
  // alive, so exit explicitly, once stdout (a pipe, written asynchronously)
  // has taken everything.
  process.stdout.write(JSON.stringify(result), () => process.exit(0));
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
