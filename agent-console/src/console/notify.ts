import type { App } from 'antd';

type Notification = ReturnType<typeof App.useApp>['notification'];

let ctx: AudioContext | null = null;

/** A short two-tone chime, synthesized: no audio file to ship or to fail loading. */
function chime(): void {
  try {
    ctx ??= new AudioContext();
    const now = ctx.currentTime;
    for (const [i, f] of [880, 1320].entries()) {
      const o = ctx.createOscillator();
      const g = ctx.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.08, now + i * 0.15);
      g.gain.exponentialRampToValueAtTime(0.001, now + i * 0.15 + 0.3);
      o.connect(g).connect(ctx.destination);
      o.start(now + i * 0.15);
      o.stop(now + i * 0.15 + 0.3);
    }
  } catch {
    // no audio (autoplay policy before any click, or no device): the visual notice is enough
  }
}

/** A new assignment: in-page notice, desktop notification when permitted, and a sound. */
export function notifyAssignment(notification: Notification, title: string, description: string): void {
  notification.info({ title, description, placement: 'bottomRight' });
  if ('Notification' in window && Notification.permission === 'granted' && document.hidden) new Notification(`回客：${title}`, { body: description });
  chime();
}
