// Independent verifier of an Open Badges 3.0 credential in the VC-JWT form, with `jose` (not the
// application's code). Reads on stdin {"credential": "<compact JWS>", "documents": {url: body}}:
// `documents` plays the part of the network (the issuer key and the status list, as the app
// serves them). Writes {"verified": bool, "revoked": bool|null, "error": string|null, "claims": …}.
import { gunzipSync } from "node:zlib";
import { decodeProtectedHeader, importJWK, jwtVerify } from "jose";

const VC_V2 = "https://www.w3.org/ns/credentials/v2";
const OB_V3 = /^https:\/\/purl\.imsglobal\.org\/spec\/ob\/v3p0\/context(-3\.\d\.\d)*\.json$/;

function fetchDocument(documents, url) {
  if (!(url in documents)) throw new Error(`document not available: ${url}`);
  return documents[url];
}

async function verifyJwt(token, documents) {
  const header = decodeProtectedHeader(token);
  if (header.alg !== "EdDSA") throw new Error(`unexpected alg ${header.alg}`);
  if (!header.kid) throw new Error("no kid");
  const jwk = JSON.parse(fetchDocument(documents, header.kid));
  if (jwk.kid && jwk.kid !== header.kid) throw new Error("kid mismatch");
  const key = await importJWK(jwk, "EdDSA");
  const { payload } = await jwtVerify(token, key, { algorithms: ["EdDSA"] });
  if (!Array.isArray(payload["@context"]) || payload["@context"][0] !== VC_V2) throw new Error("not a VC 2.0");
  const issuerId = typeof payload.issuer === "string" ? payload.issuer : payload.issuer?.id;
  if (payload.iss !== issuerId) throw new Error("iss differs from issuer.id");
  if (payload.jti !== payload.id) throw new Error("jti differs from id");
  if (Date.parse(payload.validFrom) / 1000 !== payload.nbf) throw new Error("nbf differs from validFrom");
  return payload;
}

function bitAt(encodedList, index) {
  if (!encodedList.startsWith("u")) throw new Error("encodedList is not multibase base64url");
  const bits = gunzipSync(Buffer.from(encodedList.slice(1), "base64url"));
  if (bits.length * 8 < 131072) throw new Error("status list shorter than 131072 entries");
  if (index >= bits.length * 8) throw new Error("index out of range");
  return (bits[Math.floor(index / 8)] >> (7 - (index % 8))) & 1;
}

async function main() {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const { credential, documents } = JSON.parse(input);
  const result = { verified: false, revoked: null, error: null, claims: null };
  try {
    const vc = await verifyJwt(credential, documents);
    if (!vc.type.includes("VerifiableCredential") || !vc.type.includes("OpenBadgeCredential")) {
      throw new Error("not an OpenBadgeCredential");
    }
    if (!OB_V3.test(vc["@context"][1])) throw new Error("no Open Badges 3.0 context");
    result.claims = vc;
    result.verified = true;
    const status = vc.credentialStatus;
    if (status) {
      if (status.type !== "BitstringStatusListEntry") throw new Error(`status type ${status.type}`);
      const list = await verifyJwt(fetchDocument(documents, status.statusListCredential), documents);
      if (!list.type.includes("BitstringStatusListCredential")) throw new Error("not a status list");
      if (list.credentialSubject.statusPurpose !== status.statusPurpose) throw new Error("status purpose differs");
      const listIssuer = typeof list.issuer === "string" ? list.issuer : list.issuer.id;
      if (listIssuer !== vc.issuer.id) throw new Error("status list from another issuer");
      result.revoked = bitAt(list.credentialSubject.encodedList, Number.parseInt(status.statusListIndex, 10)) === 1;
    }
  } catch (error) {
    result.verified = false;
    result.error = `${error.code ?? error.name}: ${error.message}`;
  }
  process.stdout.write(JSON.stringify(result));
}

await main();
