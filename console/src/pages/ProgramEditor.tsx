// The program editor: a form for the common fields of every section and a YAML tab for everything.
// "Review changes" validates the draft on the server (POST …/program/diff): a message naming a field
// is shown on that field; then the changes, an optional simulation, and Apply behind a confirmation.
import { Alert, Button, Group, List, Modal, Stack, Tabs, Text, Textarea, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, ApiError, ok } from '../api';
import { DiffView } from '../components/program-diff';
import { diffSummary, fieldId, fromYaml, setAt, toYaml, type ProgramDoc } from '../components/program-draft';
import { FORM_SECTIONS, ProgramForm, readable, type FieldError } from '../components/program-form';
import { programKey, useProgram } from '../components/program-query';
import { SimulationPanel } from '../components/program-simulation';
import { Failure, Loaded } from '../components/states';
import { useRetailer } from '../session';

export default function ProgramEditor() {
  const program = useProgram();
  return <Loaded query={program}>{(p) => <Editor live={p} />}</Loaded>;
}

function Editor({ live }: { live: ProgramDoc }) {
  const { retailerId } = useRetailer();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [draft, setDraft] = useState<ProgramDoc>(live);
  const [mode, setMode] = useState<'form' | 'yaml'>('form');
  const [yamlText, setYamlText] = useState('');
  const [yamlError, setYamlError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<FieldError | null>(null);
  const [opened, setOpened] = useState<string[]>(['rules']);
  const [confirming, setConfirming] = useState(false);

  const diff = useMutation({
    mutationFn: (doc: ProgramDoc) => ok(api.POST('/admin/tenants/{retailer_id}/program/diff', { params: { path: { retailer_id: retailerId } }, body: doc })),
    onMutate: () => setFieldError(null),
    onSuccess: () => requestAnimationFrame(() => document.getElementById('program-changes')?.scrollIntoView({ block: 'start' })),
    onError: (e) => {
      if (e instanceof ApiError && e.field) {
        setFieldError({ path: e.field, message: e.message });
        const section = e.field.split('.')[0];
        if ((FORM_SECTIONS as readonly string[]).includes(section)) setOpened((o) => (o.includes(section) ? o : [...o, section]));
      }
    },
  });
  const apply = useMutation({
    mutationFn: (doc: ProgramDoc) => ok(api.PUT('/admin/tenants/{retailer_id}/program', { params: { path: { retailer_id: retailerId } }, body: doc })),
    onSuccess: async (answer) => {
      client.setQueryData(programKey(retailerId), answer.program);
      await Promise.all([client.invalidateQueries({ queryKey: [retailerId] }), client.invalidateQueries({ queryKey: ['retailer', retailerId] })]);
      navigate(`/r/${retailerId}/program`, { state: { applied: diffSummary(answer.diff) } });
    },
  });

  // a message about a field the form shows: that field, in view
  const onForm = fieldError && mode === 'form' && typeof document !== 'undefined' ? document.getElementById(fieldId(fieldError.path)) : null;
  useEffect(() => {
    if (fieldError && mode === 'form') document.getElementById(fieldId(fieldError.path))?.scrollIntoView({ block: 'center' });
  }, [fieldError, mode, opened]);

  const changed = () => {
    diff.reset();
    apply.reset();
  };
  const set = (path: string, value: unknown) => {
    setDraft((d) => setAt(d, path, value));
    if (fieldError?.path === path) setFieldError(null);
    changed();
  };
  /** The draft as it stands in the current tab, or null (the YAML's problem shown). */
  const current = (): ProgramDoc | null => {
    if (mode === 'form') return draft;
    const parsed = fromYaml(yamlText);
    if ('error' in parsed) {
      setYamlError(parsed.error);
      return null;
    }
    setYamlError(null);
    setDraft(parsed.doc);
    return parsed.doc;
  };
  const switchTo = (next: string | null) => {
    if (next === mode) return;
    if (next === 'yaml') {
      setYamlText(toYaml(draft));
      setYamlError(null);
      setMode('yaml');
    } else if (next === 'form') {
      if (current()) setMode('form');
    }
  };
  const review = () => {
    const doc = current();
    if (doc) diff.mutate(doc);
  };
  const reviewed = diff.data && !diff.isPending ? diff.data : null;
  const summary = reviewed ? diffSummary(reviewed) : [];
  const otherError = diff.error && !(diff.error instanceof ApiError && diff.error.field);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Edit program</Title>
        <Group gap="xs">
          <Button variant="default" component={Link} to={`/r/${retailerId}/program`}>
            Back to the program
          </Button>
          <Button
            variant="default"
            onClick={() => {
              setDraft(live);
              setYamlText(toYaml(live));
              setFieldError(null);
              setYamlError(null);
              changed();
            }}
          >
            Discard changes
          </Button>
        </Group>
      </Group>
      <Text size="sm" c="gray.7">
        Change the draft in the form or as YAML, then review what would change: nothing is applied until you confirm.
      </Text>

      {fieldError && (
        <Alert color="red" title="The draft is not valid" role="alert">
          <Text size="sm">{fieldError.message}</Text>
          <Text size="xs" c="gray.7" mt={4}>
            {mode === 'yaml' ? `In the YAML: ${fieldError.path}.` : onForm ? 'The field is marked below.' : `The form does not show ${fieldError.path}: change it in the YAML tab.`}
          </Text>
        </Alert>
      )}

      <Tabs value={mode} onChange={switchTo}>
        <Tabs.List>
          <Tabs.Tab value="form">Form</Tabs.Tab>
          <Tabs.Tab value="yaml">YAML</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="form" pt="md">
          {mode === 'form' && <ProgramForm draft={draft} set={set} error={fieldError} opened={opened} setOpened={setOpened} />}
        </Tabs.Panel>
        <Tabs.Panel value="yaml" pt="md">
          {mode === 'yaml' && (
            <Textarea
              label="Program (YAML)"
              description="The whole program: every section and field, as a program file holds it."
              autosize
              minRows={16}
              maxRows={40}
              spellCheck={false}
              styles={{ ...readable, input: { fontFamily: 'ui-monospace, monospace', fontSize: 13 } }}
              value={yamlText}
              onChange={(e) => {
                setYamlText(e.currentTarget.value);
                setYamlError(null);
                changed();
              }}
              error={yamlError ?? (fieldError ? `${fieldError.path}: ${fieldError.message.replace(`${fieldError.path}: `, '')}` : undefined)}
            />
          )}
        </Tabs.Panel>
      </Tabs>

      <Group>
        <Button onClick={review} loading={diff.isPending}>
          Review changes
        </Button>
        {reviewed && (
          <Button color="red.8" onClick={() => setConfirming(true)} disabled={reviewed.changes === 0}>
            Apply…
          </Button>
        )}
      </Group>
      {otherError && <Failure error={diff.error} />}
      {reviewed && (
        <Stack id="program-changes">
          <DiffView diff={reviewed} />
          <SimulationPanel draft={draft} />
        </Stack>
      )}

      <Modal opened={confirming} onClose={() => setConfirming(false)} title="Apply the program?" centered size="lg">
        <Stack>
          <Text size="sm">Applying makes the live program match the draft at once, for every member and every system that calls the API:</Text>
          <List size="sm">
            {summary.map((line) => (
              <List.Item key={line}>{line}</List.Item>
            ))}
          </List>
          {apply.error && <Failure error={apply.error} />}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirming(false)}>
              Cancel
            </Button>
            <Button color="red.8" loading={apply.isPending} onClick={() => reviewed && apply.mutate(draft)}>
              Apply {reviewed?.changes ?? 0} changes
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
