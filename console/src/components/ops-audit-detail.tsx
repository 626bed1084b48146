// One audit record opened: who, from where, and what changed (a diff of the leaves of before and
// after, then both in full).
import { Badge, Code, SimpleGrid, Stack, Table, Text } from '@mantine/core';
import { diffJson, showValue } from './ops-diff';

const COLOR = { added: 'green', removed: 'red', changed: 'blue' } as const;

export function AuditDetail({ record }: { record: { before?: unknown; after?: unknown; address: string | null; user_agent: string | null; request_id: string | null; object_id: string | null } }) {
  const before = record.before ?? null;
  const after = record.after ?? null;
  const changes = diffJson(before, after);
  return (
    <Stack gap="sm" py="xs">
      <Text size="xs" c="gray.7">
        From {record.address ?? 'an unknown address'}
        {record.user_agent ? ` · ${record.user_agent}` : ''}
        {record.request_id ? ` · request ${record.request_id}` : ''}
        {record.object_id ? ` · object ${record.object_id}` : ''}
      </Text>
      {changes.length === 0 ? (
        <Text size="sm" c="gray.7">
          No recorded change of configuration.
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={480}>
          <Table withTableBorder aria-label="What changed">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Field</Table.Th>
                <Table.Th>Before</Table.Th>
                <Table.Th>After</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {changes.slice(0, 200).map((c) => (
                <Table.Tr key={c.path}>
                  <Table.Td>
                    <Text size="sm" ff="monospace">
                      {c.path || '(the whole value)'}
                    </Text>
                    <Badge size="xs" variant="dot" color={COLOR[c.kind]}>
                      {c.kind}
                    </Badge>
                  </Table.Td>
                  <Table.Td style={{ wordBreak: 'break-word' }}>{showValue(c.before)}</Table.Td>
                  <Table.Td style={{ wordBreak: 'break-word' }}>{showValue(c.after)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          {changes.length > 200 && (
            <Text size="xs" c="gray.7">
              The first 200 of {changes.length} changes; both values are in full below.
            </Text>
          )}
        </Table.ScrollContainer>
      )}
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        {(
          [
            ['Before', before],
            ['After', after],
          ] as const
        ).map(([label, value]) => (
          <Stack gap={4} key={label}>
            <Text size="sm" fw={500}>
              {label}
            </Text>
            <Code block style={{ maxHeight: 320, overflow: 'auto' }} tabIndex={0} aria-label={`${label} (JSON)`}>
              {value === null ? 'nothing' : JSON.stringify(value, null, 2)}
            </Code>
          </Stack>
        ))}
      </SimpleGrid>
    </Stack>
  );
}
