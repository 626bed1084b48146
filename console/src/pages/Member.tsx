import { Title } from '@mantine/core';

export default function Member() {
  return <Title order={2}>Member</Title>;
}
