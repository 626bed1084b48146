import { Title } from '@mantine/core';

export default function PrivacyQueue() {
  return <Title order={2}>PrivacyQueue</Title>;
}
