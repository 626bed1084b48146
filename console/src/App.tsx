// The console's screens: sign-in, then everything under one retailer (/r/:retailerId/…),
// each screen loaded when first opened so that the first load stays small.
import { lazy, Suspense, type ReactNode } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router';
import { Failure, Forbidden, Pending } from './components/states';
import { RetailerLayout } from './Layout';
import { useMe, useRetailers, type Permission, useRetailer } from './session';
import { SignIn } from './pages/SignIn';

const Dashboard = lazy(() => import('./pages/Dashboard'));
const Members = lazy(() => import('./pages/Members'));
const Member = lazy(() => import('./pages/Member'));
const Program = lazy(() => import('./pages/Program'));
const ProgramEditor = lazy(() => import('./pages/ProgramEditor'));
const Webhooks = lazy(() => import('./pages/Webhooks'));
const PrivacyQueue = lazy(() => import('./pages/PrivacyQueue'));
const Operators = lazy(() => import('./pages/Operators'));
const Credentials = lazy(() => import('./pages/Credentials'));
const Audit = lazy(() => import('./pages/Audit'));
const Invitation = lazy(() => import('./pages/Invitation'));

/** A screen that needs a permission the role may lack: told so, never half-shown. */
function Needs({ permission, children }: { permission: Permission; children: ReactNode }) {
  return useRetailer().can(permission) ? <>{children}</> : <Forbidden />;
}

function Home() {
  const me = useMe();
  const retailers = useRetailers(me.data);
  if (me.isPending) return <Pending />;
  if (!me.data) return <Navigate to="/sign-in" replace />;
  if (retailers.isPending) return <Pending />;
  const first = retailers.data?.[0];
  if (!first) return <Failure error={new Error('You hold no role at any retailer yet: ask an owner to invite you.')} />;
  return <Navigate to={`/r/${first.retailer_id}/dashboard`} replace />;
}

export function App() {
  const location = useLocation();
  return (
    <Suspense fallback={<Pending />}>
      <Routes location={location}>
        <Route path="/sign-in" element={<SignIn />} />
        <Route path="/invitation" element={<Invitation />} />
        <Route path="/r/:retailerId" element={<RetailerLayout />}>
          <Route index element={<Navigate to="dashboard" replace />} />
          <Route path="dashboard" element={<Dashboard />} />
          <Route path="members" element={<Members />} />
          <Route path="members/:userId" element={<Member />} />
          <Route path="program" element={<Program />} />
          <Route path="program/edit" element={<Needs permission="program"><ProgramEditor /></Needs>} />
          <Route path="webhooks" element={<Webhooks />} />
          <Route path="privacy" element={<PrivacyQueue />} />
          <Route path="operators" element={<Needs permission="team"><Operators /></Needs>} />
          <Route path="credentials" element={<Needs permission="integrations"><Credentials /></Needs>} />
          <Route path="audit" element={<Needs permission="team"><Audit /></Needs>} />
        </Route>
        <Route path="*" element={<Home />} />
      </Routes>
    </Suspense>
  );
}
