import { Title } from '@mantine/core';

export default function Dashboard() {
  return <Title order={2}>Dashboard</Title>;
}
