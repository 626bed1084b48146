// Adding or changing a webhook endpoint: its URL, a description and the event types it receives.
import { Button, Group, Modal, MultiSelect, Stack, Switch, TextInput, Textarea } from '@mantine/core';
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError } from '../api';
import { Refusal } from './ops-ui';

export const EVENT_TYPES = [
  'member.created', 'member.updated', 'member.deleted', 'member.merged', 'member.forgotten', 'member.restricted', 'member.reinstated', 'member.tag_added',
  'points.deposited', 'points.spent', 'points.returned', 'points.expired', 'points.pending', 'points.available', 'points.expiring',
  'tier.changed', 'offer.issued', 'offer.revoked', 'offer.redeemed', 'offer.reinstated', 'offer.expired', 'reward.purchased',
  'campaign.completed', 'rule.achieved', 'transaction.recorded', 'transaction.voided', 'privacy.request_completed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface EndpointFields {
  url: string;
  description: string;
  event_types: EventType[];
  enabled: boolean;
}

export function WebhookForm(props: {
  opened: boolean;
  title: string;
  submitLabel: string;
  initial: EndpointFields;
  editing: boolean;
  pending: boolean;
  error: unknown;
  onSubmit: (fields: EndpointFields) => void;
  onClose: () => void;
}) {
  const [fields, setFields] = useState(props.initial);
  useEffect(() => {
    if (props.opened) setFields(props.initial);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.opened]);
  const fieldError = (name: string) => (props.error instanceof ApiError && props.error.field?.startsWith(name) ? props.error.message : undefined);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit({ ...fields, url: fields.url.trim(), description: fields.description.trim() });
  };
  return (
    <Modal opened={props.opened} onClose={props.onClose} title={props.title} centered size="lg">
      <form onSubmit={submit}>
        <Stack>
          <TextInput label="URL" description="https (plain http only to the hosts the server allows)" required withAsterisk={false} value={fields.url} onChange={(e) => setFields({ ...fields, url: e.currentTarget.value })} error={fieldError('url')} maxLength={2000} />
          <Textarea label="Description" value={fields.description} onChange={(e) => setFields({ ...fields, description: e.currentTarget.value })} maxLength={500} autosize minRows={1} />
          <MultiSelect
            label="Event types"
            description="None chosen: every event type"
            data={[...EVENT_TYPES]}
            value={fields.event_types}
            onChange={(v) => setFields({ ...fields, event_types: v as EventType[] })}
            searchable
            clearable
            error={fieldError('event_types')}
          />
          {props.editing && <Switch label="Enabled (receives events)" checked={fields.enabled} onChange={(e) => setFields({ ...fields, enabled: e.currentTarget.checked })} />}
          {!fieldError('url') && !fieldError('event_types') && <Refusal error={props.error} />}
          <Group justify="flex-end">
            <Button variant="default" onClick={props.onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={props.pending}>
              {props.submitLabel}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
