// The session line every panel shows above its content, and the empty state
// when there is nothing to show: no vmscope session (with the hint the host
// sends), the guest running (stop it to refresh), or a panel-specific reason.

import type { SessionStatus } from '../../src/common/messages';
import { h, replace } from './dom';

export class StatusView {
  readonly element: HTMLElement;
  private readonly line: HTMLElement;
  private readonly notice: HTMLElement;
  private status: SessionStatus = { state: 'none', hint: 'Waiting for the vmscope extension…' };

  constructor() {
    this.line = h('span', { class: 'status-line' });
    this.notice = h('span', { class: 'notice', role: 'alert' });
    this.element = h('div', { class: 'status-bar' }, this.line, this.notice);
  }

  get current(): SessionStatus { return this.status; }
  get stopped(): boolean { return this.status.state === 'stopped'; }

  set(status: SessionStatus): void {
    this.status = status;
    this.notice.textContent = '';
    switch (status.state) {
      case 'none':
        this.line.textContent = 'No vmscope debug session';
        break;
      case 'running':
        this.line.textContent = `${status.name}: running — pause or stop at a breakpoint to refresh`;
        break;
      case 'stopped': {
        const t = status.threads.find((x) => x.id === status.threadId);
        this.line.textContent = `${status.name}: stopped on ${t ? t.name : `thread ${status.threadId}`} (stop ${status.stopCount})`;
        break;
      }
    }
    document.body.dataset.session = status.state;
  }

  showNotice(level: 'info' | 'error', text: string): void {
    this.notice.className = `notice ${level}`;
    this.notice.textContent = text;
  }
}

/** Fills `target` with an empty state: a title and a hint (what to do to see something here). */
export function renderEmpty(target: Element, title: string, hint: string): void {
  replace(target, h('div', { class: 'empty-state', role: 'status' }, h('h2', {}, title), h('p', {}, hint)));
}

/** The empty state for a session status that has nothing to show, or undefined when it is stopped. */
export function emptyFor(status: SessionStatus): { title: string; hint: string } | undefined {
  if (status.state === 'none') return { title: 'No vmscope session', hint: status.hint };
  if (status.state === 'running') return { title: 'The guest is running', hint: 'Pause it, or let it stop at a breakpoint or an event, to look inside.' };
  return undefined;
}
