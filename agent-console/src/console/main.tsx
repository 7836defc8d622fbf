import { App as AntApp, ConfigProvider } from 'antd';
import zhCN from 'antd/locale/zh_CN';
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { session } from './api.ts';
import { Login } from './Login.tsx';
import { Workspace } from './Workspace.tsx';

function Root() {
  const [token, setToken] = useState(session.token);
  return token ? (
    <Workspace
      onLogout={() => {
        session.clear();
        setToken(null);
      }}
    />
  ) : (
    <Login
      onLogin={(t) => {
        session.set(t);
        setToken(t);
      }}
    />
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ConfigProvider locale={zhCN} theme={{ token: { colorPrimary: '#07c160', borderRadius: 6 } }}>
      <AntApp>
        <Root />
      </AntApp>
    </ConfigProvider>
  </StrictMode>,
);
