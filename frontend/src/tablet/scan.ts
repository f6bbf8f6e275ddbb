/**
 * Scanning on tablets. Keyboard-wedge scanners type the code and Enter, which `scanField` turns
 * into "go to the next field"; where the browser has a BarcodeDetector (Chrome on Android) a
 * camera button reads Code 128, QR and DataMatrix too.
 */

import { h } from "../dom";
import { openModal } from "../ui/modal";
import { t } from "../i18n";

interface Detected { rawValue: string }
interface Detector { detect(source: HTMLVideoElement): Promise<Detected[]> }
type DetectorClass = (new (opts: { formats: string[] }) => Detector) & { getSupportedFormats(): Promise<string[]> };

const WANTED = ["code_128", "qr_code", "data_matrix", "ean_13", "code_39"];

/**
 * Whether the code in `input` was typed by hand (PR-14 flags it): a wedge scanner types too, but a
 * person types key by key before the Enter that ends a scan; the camera and pasting type nothing.
 */
export function typedWatch(input: HTMLInputElement): () => boolean {
  let typed = false;
  input.addEventListener("keydown", (ev) => {
    if (ev.key.length === 1 && !ev.repeat) typed = true;
  });
  return () => typed;
}

/** The input plus, when the device can, a camera button; Enter moves on instead of submitting. */
export function scanField(input: HTMLInputElement, next: () => void): HTMLElement {
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      next();
    }
  });
  const Detector = (window as unknown as { BarcodeDetector?: DetectorClass }).BarcodeDetector;
  if (!Detector || !navigator.mediaDevices?.getUserMedia) return input;
  const camera = h("button", { type: "button", class: "scan-camera", "aria-label": t("scan.withCamera") }, t("scan.camera"));
  camera.addEventListener("click", () => openScanner(Detector, (code) => {
    input.value = code;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    next();
  }));
  return h("div", { class: "with-button" }, input, camera);
}

function openScanner(Detector: DetectorClass, done: (code: string) => void): void {
  let stream: MediaStream | null = null;
  let timer = 0;
  const stop = () => {
    window.clearTimeout(timer);
    stream?.getTracks().forEach((track) => track.stop());
  };
  const m = openModal(t("scan.title"), (modal) => {
    const video = h("video", { class: "scan-video", playsinline: true, muted: true });
    const status = h("p", { class: "muted", role: "status" }, t("scan.starting"));
    modal.body.append(video, status, h("div", { class: "actions" },
      h("button", { type: "button", class: "big", onClick: () => { stop(); modal.close(); } }, t("common.cancel"))));
    void (async () => {
      try {
        const supported = await Detector.getSupportedFormats();
        const detector = new Detector({ formats: WANTED.filter((f) => supported.includes(f)) });
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
        video.srcObject = stream;
        await video.play();
        status.textContent = t("scan.hold");
        const look = async () => {
          if (!modal.dialog.open) return stop();
          try {
            const found = await detector.detect(video);
            if (found[0]?.rawValue) {
              stop();
              modal.close();
              done(found[0].rawValue.trim());
              return;
            }
          } catch { /* a frame that cannot be read: try the next one */ }
          timer = window.setTimeout(() => void look(), 150);
        };
        void look();
      } catch (e) {
        stop();
        status.textContent = t("scan.failed", { error: (e as Error).message });
      }
    })();
  }, "tablet-modal");
  m.dialog.addEventListener("close", stop);
}
