import { Title } from '@mantine/core';

export default function Program() {
  return <Title order={2}>Program</Title>;
}
