/**
 * GraphQL over HTTP: one POST per operation, errors surfaced with the server's code and message.
 * Documents are plain strings led by a GraphQL magic comment, so `npm run codegen` finds them; their
 * result and variable types come from `./generated` (README, "Query types").
 */

import { has, t } from "../i18n";
import { session } from "./session";

export class GqlError extends Error {
  constructor(public readonly code: string, message: string, public readonly path?: readonly (string | number)[],
              public readonly extensions: Readonly<Record<string, unknown>> = {}) {
    super(message);
    this.name = "GqlError";
  }

  /** What the UI shows: a translated text chosen by the code, the code, and the server's own reason below. */
  get display(): string {
    const key = `error.${this.code.startsWith("HTTP_") ? "HTTP" : this.code}`;
    return `${t(has(key) ? key : "error.unknown")} (${this.code})\n${this.message}`;
  }
}

interface GqlResponse<T> {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [k: string]: unknown } }[];
}

let onUnauthenticated: (() => void) | null = null;

/** Called when the server no longer accepts our token (expired, revoked). */
export function setUnauthenticatedHandler(fn: () => void): void {
  onUnauthenticated = fn;
}

export type Variables = Record<string, unknown>;

/** `T` and `V` are the document's generated types, e.g. `gql<EquipmentQuery, EquipmentQueryVariables>`. */
export async function gql<T, V extends Variables = Variables>(
  query: string, variables?: V, token: string | null = session.token,
): Promise<T> {
  let resp: Response;
  try {
    resp = await fetch("/graphql", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json, application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables: variables ?? {} }),
    });
  } catch (e) {
    throw new GqlError("NETWORK", t("error.detail.network", { reason: (e as Error).message }));
  }
  let body: GqlResponse<T>;
  try {
    body = (await resp.json()) as GqlResponse<T>;
  } catch {
    throw new GqlError(`HTTP_${resp.status}`, t("error.detail.http", { status: `${resp.status} ${resp.statusText}` }));
  }
  if (body.errors?.length) {
    const first = body.errors[0];
    const code = first.extensions?.code ?? "ERROR";
    if (code === "UNAUTHENTICATED" && token === session.token && onUnauthenticated) onUnauthenticated();
    const more = body.errors.length > 1 ? t("error.detail.more", { n: body.errors.length - 1 }) : "";
    throw new GqlError(code, first.message + more, first.path, first.extensions ?? {});
  }
  if (!body.data) throw new GqlError(`HTTP_${resp.status}`, t("error.detail.noData"));
  return body.data;
}

/** Turn anything thrown into the text a refused action shows. */
export function errorText(e: unknown): string {
  if (e instanceof GqlError) return e.display;
  if (e instanceof Error) return e.message;
  return String(e);
}
