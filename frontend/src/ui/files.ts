/** Files the server sends as base64 (reports, exported records, signed documents), saved or linked. */

import { h } from "../dom";
import { fromBase64 } from "../sign/signer";

/** An object URL for the file, for a link that stays on the page. */
export function fileUrl(data: string, contentType: string): string {
  return URL.createObjectURL(new Blob([fromBase64(data)], { type: contentType }));
}

/** Saves the file as the browser's download. */
export function saveFile(data: string, contentType: string, filename: string): void {
  const url = fileUrl(data, contentType);
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
