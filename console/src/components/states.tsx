// Loading, empty, failed and not-allowed states, the same on every screen.
import { Alert, Button, Center, Loader, Stack, Text } from '@mantine/core';
import { ApiError } from '../api';

export function Failure({ error, retry }: { error: unknown; retry?: () => void }) {
  const message = error instanceof Error ? error.message : String(error);
  const unavailable = error instanceof ApiError && error.status >= 500;
  return (
    <Alert color="red" title={unavailable ? 'The server is unavailable' : 'Something went wrong'} role="alert">
      <Stack gap="xs">
        <Text size="sm">{message}</Text>
        {retry && (
          <Button size="xs" variant="light" color="red" onClick={retry} w="fit-content">
            Try again
          </Button>
        )}
      </Stack>
    </Alert>
  );
}

export function Forbidden() {
  return (
    <Alert color="yellow" title="Not available to your role" role="alert">
      Your role at this retailer does not allow this. An owner can change your role.
    </Alert>
  );
}

export function Pending() {
  return (
    <Center h={160}>
      <Loader aria-label="Loading" />
    </Center>
  );
}

export function Empty({ children }: { children: React.ReactNode }) {
  return (
    <Text c="gray.7" size="sm" py="md">
      {children}
    </Text>
  );
}

/** A query's three states around what it shows once it has data. */
export function Loaded<T>({ query, children }: { query: { isPending: boolean; error: unknown; data: T | undefined; refetch: () => unknown }; children: (data: T) => React.ReactNode }) {
  if (query.isPending) return <Pending />;
  if (query.error) return <Failure error={query.error} retry={() => query.refetch()} />;
  return <>{children(query.data as T)}</>;
}
