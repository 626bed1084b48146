// Pieces the operations screens share: a confirmation that says what will happen, a secret shown
// once, an API refusal said plainly, and older/newer paging over `next_before` cursors.
import { Alert, Button, Code, CopyButton, Group, Modal, Stack, Text } from '@mantine/core';
import { useState, type ReactNode } from 'react';
import { ApiError } from '../api';

/** The API's refusal, with its code's meaning where the screen knows better words. */
export function Refusal({ error, explain }: { error: unknown; explain?: Record<string, string> }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const title = (code && explain?.[code]) ?? 'The change was refused';
  return (
    <Alert color="red" title={title} role="alert">
      {message}
    </Alert>
  );
}

/** A modal asking to confirm one change: what it does, then the change (errors shown in it). */
export function Confirm(props: {
  opened: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  pending?: boolean;
  error?: unknown;
  explain?: Record<string, string>;
  onConfirm: () => void;
  onClose: () => void;
}) {
  return (
    <Modal opened={props.opened} onClose={props.onClose} title={props.title} centered>
      <Stack>
        <div>{props.children}</div>
        <Refusal error={props.error} explain={props.explain} />
        <Group justify="flex-end">
          <Button variant="default" onClick={props.onClose}>
            Cancel
          </Button>
          <Button color={props.danger ? 'red.9' : undefined} loading={props.pending} onClick={props.onConfirm}>
            {props.confirmLabel}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/** A secret the API shows only this once: copy it now. */
export function OnceSecret({ label, value }: { label: string; value: string }) {
  return (
    <Stack gap={4}>
      <Text size="sm" fw={500}>
        {label}
      </Text>
      <Group gap="xs" wrap="nowrap" align="flex-start">
        <Code block style={{ flex: 1, wordBreak: 'break-all', whiteSpace: 'pre-wrap' }} aria-label={label}>
          {value}
        </Code>
        <CopyButton value={value}>
          {({ copied, copy }) => (
            <Button size="xs" variant="default" onClick={copy} aria-label={`Copy ${label}`}>
              {copied ? 'Copied' : 'Copy'}
            </Button>
          )}
        </CopyButton>
      </Group>
    </Stack>
  );
}

/** The note above secrets shown once. */
export function ShownOnce({ children }: { children?: ReactNode }) {
  return (
    <Alert color="yellow" title="Shown only this once">
      {children ?? 'Copy it now and keep it somewhere safe: it cannot be shown again.'}
    </Alert>
  );
}

/** Cursor paging: the cursors of the pages seen, so that "Newer" goes back one. */
export function useCursorPages() {
  const [stack, setStack] = useState<string[]>([]);
  const before = stack.at(-1);
  return {
    before,
    page: stack.length + 1,
    older: (next: string) => setStack((s) => [...s, next]),
    newer: () => setStack((s) => s.slice(0, -1)),
    reset: () => setStack([]),
  };
}

export function Pager({ page, hasOlder, onOlder, onNewer, what }: { page: number; hasOlder: boolean; onOlder: () => void; onNewer: () => void; what: string }) {
  if (page === 1 && !hasOlder) return null;
  return (
    <Group justify="space-between" aria-label={`${what} pages`} role="group">
      <Button variant="default" size="xs" disabled={page === 1} onClick={onNewer}>
        Newer
      </Button>
      <Text size="sm" c="gray.7">
        Page {page}
      </Text>
      <Button variant="default" size="xs" disabled={!hasOlder} onClick={onOlder}>
        Older
      </Button>
    </Group>
  );
}

