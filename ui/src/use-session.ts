import { useEffect, useState } from 'preact/hooks';
import { session, type SessionState } from './session.js';

export function useSession(): SessionState {
  const [state, setState] = useState(session.current);
  useEffect(() => session.subscribe(setState), []);
  return state;
}
