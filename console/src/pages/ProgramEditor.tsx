import { Title } from '@mantine/core';

export default function ProgramEditor() {
  return <Title order={2}>ProgramEditor</Title>;
}
