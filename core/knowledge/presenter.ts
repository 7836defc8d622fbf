import { iso } from '../time.ts';
import type { KbEntryRow } from './entries.ts';
import type { UnansweredRow } from './unanswered.ts';

export function presentEntry(e: KbEntryRow) {
  return {
    id: e.id,
    category: e.category,
    question: e.question,
    similar: e.similar,
    answer: e.answer,
    enabled: e.enabled,
    hits: e.hits,
    updatedAt: iso(e.updatedAt),
  };
}

export function presentUnanswered(u: UnansweredRow) {
  return {
    id: u.id,
    conversationId: u.conversationId,
    text: u.text,
    decision: u.decision,
    reason: u.reason,
    candidates: u.candidates,
    status: u.status,
    resolvedEntryId: u.resolvedEntryId,
    createdAt: iso(u.createdAt),
  };
}
