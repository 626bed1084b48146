import { Title } from '@mantine/core';

export default function Operators() {
  return <Title order={2}>Operators</Title>;
}
