import { useState } from 'preact/hooks';
import { api, messageOf, type Session } from '../api.js';

export function SignIn({ notice, onSignedIn }: { notice: string; onSignedIn: (s: Session) => void }) {
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    try {
      onSignedIn(
        await api<Session>('POST', '/console/api/session', {
          username: String(form.get('username')),
          password: String(form.get('password')),
        }),
      );
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <main class="sign-in">
      <h1>Loyalty console</h1>
      {notice && <p role="status">{notice}</p>}
      <form onSubmit={submit}>
        <label>
          Username
          <input name="username" autocomplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}
