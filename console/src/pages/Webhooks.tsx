import { Title } from '@mantine/core';

export default function Webhooks() {
  return <Title order={2}>Webhooks</Title>;
}
