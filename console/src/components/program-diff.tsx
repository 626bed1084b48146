// What applying the draft would change (POST …/program/diff), per section: added, changed field by
// field (old → new), removed.
import { Badge, Card, Group, List, Stack, Table, Text, Title } from '@mantine/core';
import { formatCount } from '../format';
import { SECTION_NAMES, type ProgramDiff } from './program-draft';
import { Empty } from './states';

const shown = (v: unknown) => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function DiffView({ diff }: { diff: ProgramDiff }) {
  const sections = Object.entries(diff.sections).filter(([, s]) => s.created.length + s.changed.length + s.retired.length > 0);
  return (
    <Stack component="section" aria-label="Changes" gap="sm">
      <Group gap="xs">
        <Title order={3} size="h4">
          Changes
        </Title>
        <Badge variant="light">{formatCount(diff.changes)} in all</Badge>
      </Group>
      {sections.length === 0 && <Empty>The draft is the same as the program: applying it changes nothing.</Empty>}
      {sections.map(([section, s]) => (
        <Card key={section} withBorder padding="sm" component="article" aria-label={`Changes to ${SECTION_NAMES[section] ?? section}`}>
          <Text fw={600} mb={4}>
            {SECTION_NAMES[section] ?? section}
          </Text>
          {s.created.length > 0 && (
            <>
              <Text size="sm" c="green.8" fw={500}>
                Added
              </Text>
              <List size="sm" mb="xs">
                {s.created.map((c) => (
                  <List.Item key={c.key}>{c.name ?? c.key}</List.Item>
                ))}
              </List>
            </>
          )}
          {s.changed.map((c) => (
            <Stack key={c.key} gap={2} mb="xs">
              <Text size="sm" fw={500}>
                Changed: {c.name ?? c.key}
              </Text>
              <Table.ScrollContainer minWidth={480}>
                <Table withTableBorder>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Field</Table.Th>
                      <Table.Th>Now</Table.Th>
                      <Table.Th>After applying</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {c.fields.map((f) => (
                      <Table.Tr key={f.path}>
                        <Table.Td>
                          <Text size="sm" ff="monospace">
                            {f.path}
                          </Text>
                        </Table.Td>
                        <Table.Td style={{ overflowWrap: 'anywhere' }}>{shown(f.old)}</Table.Td>
                        <Table.Td style={{ overflowWrap: 'anywhere' }}>{shown(f.new)}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            </Stack>
          ))}
          {s.retired.length > 0 && (
            <>
              <Text size="sm" c="red.8" fw={500}>
                Removed
              </Text>
              <List size="sm">
                {s.retired.map((c) => (
                  <List.Item key={c.key}>{c.name ?? c.key}</List.Item>
                ))}
              </List>
            </>
          )}
        </Card>
      ))}
    </Stack>
  );
}
