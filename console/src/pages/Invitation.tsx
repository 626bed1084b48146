// An invited operator's first visit: the invitation link (/console/invitation#<token>; the token
// stays in the fragment, which the browser never sends to a server) sets their first password
// through POST /admin/invitations/accept, then they sign in.
import { Alert, Button, Center, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api, ApiError, ok } from '../api';

export default function Invitation() {
  const token = decodeURIComponent(window.location.hash.slice(1));
  const [password, setPassword] = useState('');
  const [repeated, setRepeated] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (password !== repeated) return setError('The two passwords differ.');
    setBusy(true);
    setError(null);
    try {
      const accepted = await ok(api.POST('/admin/invitations/accept', { body: { token, password } }));
      setDone(accepted.operator.email);
    } catch (e) {
      setError(e instanceof ApiError && e.field === 'password' ? e.message.replace(/^password:\s*/, 'The password ') : e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Center mih="100vh" bg="gray.0">
      <Paper component="main" withBorder shadow="sm" p="xl" w={420} maw="92vw">
        <Stack>
          <Title order={1} size="h3">
            Set your password
          </Title>
          {done ? (
            <>
              <Alert color="green" role="status">
                Your password is set, {done}.
              </Alert>
              <Button component={Link} to="/sign-in">
                Go to sign-in
              </Button>
            </>
          ) : !token ? (
            <Alert color="red" role="alert">
              This link holds no invitation. Ask the owner who invited you for the whole link.
            </Alert>
          ) : (
            <form onSubmit={submit}>
              <Stack>
                <Text size="sm">Choose a password of 12 characters or more: you will sign in with your email and this password.</Text>
                {error && (
                  <Alert color="red" role="alert">
                    {error}
                  </Alert>
                )}
                <PasswordInput label="New password" autoComplete="new-password" required withAsterisk={false} value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
                <PasswordInput label="Repeat the password" autoComplete="new-password" required withAsterisk={false} value={repeated} onChange={(e) => setRepeated(e.currentTarget.value)} />
                <Button type="submit" loading={busy}>
                  Set password
                </Button>
              </Stack>
            </form>
          )}
        </Stack>
      </Paper>
    </Center>
  );
}
