import { Title } from '@mantine/core';

export default function Members() {
  return <Title order={2}>Members</Title>;
}
