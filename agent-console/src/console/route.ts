import { useEffect, useState } from 'react';

export type PageKey = 'inbox' | 'tickets' | 'kb' | 'playbooks' | 'canned' | 'team' | 'channels' | 'dashboard' | 'audit';
const PAGES: PageKey[] = ['inbox', 'tickets', 'kb', 'playbooks', 'canned', 'team', 'channels', 'dashboard', 'audit'];

const parse = (): { page: PageKey; id: string | null } => {
  const [page, id] = window.location.hash.replace(/^#\/?/, '').split('/');
  return { page: PAGES.includes(page as PageKey) ? (page as PageKey) : 'inbox', id: id || null };
};

/** Pages live in the hash (#/kb, #/inbox/<conversation id>): links survive a reload, and no server routes are needed. */
export function useRoute() {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

export const go = (page: PageKey, id?: string | null) => {
  window.location.hash = `#/${page}${id ? `/${id}` : ''}`;
};
