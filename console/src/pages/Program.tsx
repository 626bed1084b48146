// The program as it is now (GET …/program): every section readable, or as YAML; the history of
// applies for owners; "Edit program" for those whose role may change it.
import { Alert, Button, Code, Group, ScrollArea, Stack, Tabs, Title } from '@mantine/core';
import { Link, useLocation } from 'react-router';
import { toYaml } from '../components/program-draft';
import { ProgramHistory } from '../components/program-history';
import { useProgram } from '../components/program-query';
import { ProgramSections } from '../components/program-view';
import { Loaded } from '../components/states';
import { useRetailer } from '../session';

export default function Program() {
  const { retailerId, timeZone, can } = useRetailer();
  const program = useProgram();
  const applied = (useLocation().state as { applied?: string[] } | null)?.applied;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Program</Title>
        {can('program') && (
          <Button component={Link} to={`/r/${retailerId}/program/edit`}>
            Edit program
          </Button>
        )}
      </Group>
      {applied && (
        <Alert color="green" title="Program applied" role="status">
          {applied.length ? applied.join('; ') : 'Nothing changed.'}
        </Alert>
      )}
      <Loaded query={program}>
        {(p) => (
          <Tabs defaultValue="sections" keepMounted={false}>
            <Tabs.List>
              <Tabs.Tab value="sections">Sections</Tabs.Tab>
              <Tabs.Tab value="yaml">YAML</Tabs.Tab>
            </Tabs.List>
            <Tabs.Panel value="sections" pt="md">
              <ProgramSections program={p} timeZone={timeZone} />
            </Tabs.Panel>
            <Tabs.Panel value="yaml" pt="md">
              <ScrollArea.Autosize mah="70vh" type="auto" aria-label="The program as YAML" tabIndex={0}>
                <Code block>{toYaml(p)}</Code>
              </ScrollArea.Autosize>
            </Tabs.Panel>
          </Tabs>
        )}
      </Loaded>
      {can('team') && <ProgramHistory />}
    </Stack>
  );
}
