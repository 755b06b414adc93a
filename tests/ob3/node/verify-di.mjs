// Independent verifier of an Open Badges 3.0 credential secured by a Data Integrity proof
// (eddsa-rdfc-2022), with Digital Bazaar's @digitalbazaar/vc (not the application's code).
// Reads on stdin {"credential": {...}, "documents": {url: body}}: `documents` plays the part of the
// network (the controller document, the status list, as the app serves them); the JSON-LD contexts
// come from the npm packages (VC 2.0, Multikey) and the app's bundled copy (Open Badges 3.0.3),
// nothing is fetched. Writes {"verified": bool, "revoked": bool|null, "error": string|null}.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { DataIntegrityProof } from "@digitalbazaar/data-integrity";
import { cryptosuite } from "@digitalbazaar/eddsa-rdfc-2022-cryptosuite";
import * as vc from "@digitalbazaar/vc";

const here = new URL(".", import.meta.url);
const json = (path) => JSON.parse(readFileSync(new URL(path, here), "utf8"));
const CONTEXTS = {
  "https://www.w3.org/ns/credentials/v2": json("node_modules/@digitalbazaar/credentials-context/contexts/v2.jsonld"),
  "https://w3id.org/security/multikey/v1": json("node_modules/@digitalbazaar/multikey-context/contexts/multikey-v1.jsonld"),
  "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json":
    json("../../../mediation/badges/contexts/ob-v3p0-context-3.0.3.json"),
};

function loaderFor(documents) {
  return async (url) => {
    if (url in CONTEXTS) return { contextUrl: null, documentUrl: url, document: CONTEXTS[url] };
    const [base, fragment] = url.split("#");
    if (!(base in documents)) throw new Error(`document not available: ${url}`);
    const document = JSON.parse(documents[base]);
    if (!fragment) return { contextUrl: null, documentUrl: url, document };
    // A verification method: the entry of the controller document with that id.
    const method = (document.verificationMethod || []).find((m) => m.id === url);
    if (!method) throw new Error(`verification method not found: ${url}`);
    return { contextUrl: null, documentUrl: url,
             document: { "@context": "https://w3id.org/security/multikey/v1", ...method } };
  };
}

function bitAt(encodedList, index) {
  if (!encodedList.startsWith("u")) throw new Error("encodedList is not multibase base64url");
  const bits = gunzipSync(Buffer.from(encodedList.slice(1), "base64url"));
  if (bits.length * 8 < 131072) throw new Error("status list shorter than 131072 entries");
  return (bits[Math.floor(index / 8)] >> (7 - (index % 8))) & 1;
}

async function main() {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const { credential, documents } = JSON.parse(input);
  const documentLoader = loaderFor(documents);
  const suite = new DataIntegrityProof({ cryptosuite });
  const result = { verified: false, revoked: null, error: null };
  const checkStatus = async ({ credential: checked }) => {
    const status = checked.credentialStatus;
    if (status.type !== "BitstringStatusListEntry") return { verified: false, error: new Error("status type") };
    const list = JSON.parse(documents[status.statusListCredential]);
    const listResult = await vc.verifyCredential({ credential: list, suite, documentLoader });
    if (!listResult.verified) return { verified: false, error: listResult.error };
    if (!list.type.includes("BitstringStatusListCredential")) return { verified: false, error: new Error("type") };
    const listIssuer = typeof list.issuer === "string" ? list.issuer : list.issuer.id;
    if (listIssuer !== checked.issuer.id) return { verified: false, error: new Error("status list issuer") };
    if (list.credentialSubject.statusPurpose !== status.statusPurpose) return { verified: false, error: new Error("purpose") };
    result.revoked = bitAt(list.credentialSubject.encodedList, Number.parseInt(status.statusListIndex, 10)) === 1;
    return { verified: true };
  };
  try {
    const outcome = await vc.verifyCredential({ credential, suite, documentLoader, checkStatus });
    result.verified = outcome.verified;
    if (!outcome.verified && process.env.OB3_DEBUG) process.stderr.write(JSON.stringify(outcome, null, 1));
    if (!outcome.verified) {
      const errors = [outcome.error, ...(outcome.results || []).map((r) => r.error),
        outcome.statusResult?.error].filter(Boolean);
      result.error = errors.map((e) => `${e.name}: ${e.message} ${(e.errors || []).map((x) => x.message).join("; ")}`)
        .join(" | ") || "not verified";
    }
  } catch (error) {
    result.error = `${error.name}: ${error.message}`;
  }
  process.stdout.write(JSON.stringify(result));
}

await main();
