import type { Notification, Notifier } from '../../ports.ts';

/** Notifications on a stream (stderr by default, so `--json` output on stdout stays clean). */
export class ConsoleNotifier implements Notifier {
  readonly channel = 'console';
  readonly #write: (text: string) => void;

  constructor(write: (text: string) => void = (text) => process.stderr.write(text)) {
    this.#write = write;
  }

  async notify(notification: Notification): Promise<void> {
    this.#write(`\n${notification.subject}\n${notification.text}\n`);
  }
}

/** For commands whose own output already tells the user (`gatewatch diagnose`). */
export class SilentNotifier implements Notifier {
  async notify(): Promise<void> {}
}
