import { Title } from '@mantine/core';

export default function Credentials() {
  return <Title order={2}>Credentials</Title>;
}
