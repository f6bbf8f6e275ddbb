/**
 * Electronic signatures (design.md, "Signature payloads"). The signing input is the UTF-8 of the
 * RFC 8785 canonical JSON of {operation, input, meaning, signedAt, nonce, signer}, where input is
 * the $input variable exactly as sent. Signers sit behind `Signer` so a hardware token can replace
 * the demo's browser-held key.
 */

import canonicalize from "canonicalize";
import type { SignatureAlgorithm, SignatureInput, SignatureMeaning } from "../api/generated";
import { t } from "../i18n";

export type { SignatureInput };
export type Algorithm = SignatureAlgorithm;
export type Meaning = SignatureMeaning;

/** Something that holds a person's key: the demo's WebCrypto key today, a smart card tomorrow. */
export interface Signer {
  readonly username: string;
  readonly algorithm: Algorithm;
  /** PEM, sent along so the server need not look it up. */
  readonly certificate: string | null;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** A refusal before anything is sent: no key, an algorithm the browser lacks, no secure context. */
export class SignerUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SignerUnavailable";
  }
}

export function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export function fromBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function pemBody(pem: string): Uint8Array {
  return fromBase64(pem.replace(/-----(BEGIN|END) [^-]+-----/g, "").replace(/\s+/g, ""));
}

/** RFC 3339 UTC without fractions, as the contract's example: 2026-11-22T05:33:11Z. */
export function rfc3339Now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

function newNonce(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** The exact bytes the server verifies. `input` must be the object sent as $input. */
export function signingInput(operation: string, input: unknown, meaning: Meaning, signedAt: string,
                             nonce: string, signer: string): Uint8Array {
  const text = canonicalize({ operation, input, meaning, signedAt, nonce, signer });
  if (text === undefined) throw new Error(t("sign.err.notJson"));
  return new TextEncoder().encode(text);
}

/** Copy of `input` as JSON will carry it (no undefined, no functions): sign and send this copy. */
export function asSent<T>(input: T): T {
  return JSON.parse(JSON.stringify(input)) as T;
}

export async function signOperation(signer: Signer, operation: string, input: unknown,
                                    meaning: Meaning): Promise<SignatureInput> {
  const signedAt = rfc3339Now();
  const nonce = newNonce();
  const bytes = signingInput(operation, input, meaning, signedAt, nonce, signer.username);
  const value = toBase64(await signer.sign(bytes));
  return {
    signer: signer.username, meaning, signedAt, nonce, algorithm: signer.algorithm, value,
    ...(signer.certificate ? { certificate: signer.certificate } : {}),
  };
}

/** A private key held by WebCrypto (not extractable once imported). */
export class WebCryptoSigner implements Signer {
  private constructor(readonly username: string, readonly algorithm: Algorithm,
                      readonly certificate: string | null, private readonly key: CryptoKey) {}

  static async fromPem(username: string, algorithm: string, pkcs8Pem: string,
                       certificate: string | null): Promise<WebCryptoSigner> {
    if (algorithm === "SM2_SM3") {
      throw new SignerUnavailable(t("sign.err.sm2", { username }));
    }
    if (algorithm !== "ES256" && algorithm !== "RS256") {
      throw new SignerUnavailable(t("sign.err.algorithm", { algorithm }));
    }
    if (!globalThis.crypto?.subtle) {
      throw new SignerUnavailable(t("sign.err.insecure"));
    }
    const params = algorithm === "ES256"
      ? { name: "ECDSA", namedCurve: "P-256" }
      : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    let key: CryptoKey;
    try {
      key = await crypto.subtle.importKey("pkcs8", pemBody(pkcs8Pem) as BufferSource, params, false, ["sign"]);
    } catch (e) {
      throw new SignerUnavailable(t("sign.err.keyUnusable", { username, reason: (e as Error).message }));
    }
    return new WebCryptoSigner(username, algorithm, certificate, key);
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    const params = this.algorithm === "ES256"
      ? { name: "ECDSA", hash: "SHA-256" }
      : { name: "RSASSA-PKCS1-v1_5" };
    // ECDSA in WebCrypto yields r||s (64 bytes for P-256): the encoding the server expects.
    return new Uint8Array(await crypto.subtle.sign(params, this.key, data as BufferSource));
  }
}

interface DemoKey {
  username: string;
  algorithm: string;
  privateKey: string;
  certificate: string | null;
}

/** The demo server hands a signed-in user their own key at GET /demo/key. */
export async function loadDemoSigner(token: string): Promise<Signer> {
  let resp: Response;
  try {
    resp = await fetch("/demo/key", { headers: { authorization: `Bearer ${token}` } });
  } catch (e) {
    throw new SignerUnavailable(t("sign.err.keyLoad", { reason: (e as Error).message }));
  }
  if (resp.status === 404) {
    throw new SignerUnavailable(t("sign.err.noBrowserKeys"));
  }
  if (!resp.ok) {
    let detail = "";
    try {
      detail = await resp.text();
    } catch { /* keep the status */ }
    throw new SignerUnavailable(t("sign.err.keyLoad", { reason: `${resp.status} ${detail}`.trim() }));
  }
  const k = (await resp.json()) as DemoKey;
  return WebCryptoSigner.fromPem(k.username, k.algorithm, k.privateKey, k.certificate ?? null);
}
