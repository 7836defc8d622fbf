import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.ts';

/** GETs `path` (again whenever it changes, or on reload()): the data, whether it is loading, and the error; `patch` changes the data in place (live events). */
export function useLoad<T>(path: string | null) {
  const [data, setData] = useState<T | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(async () => {
    if (!path) return;
    setLoading(true);
    try {
      setData(await api<T>(path));
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setLoading(false);
    }
  }, [path]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, loading, error, reload, patch: setData };
}
