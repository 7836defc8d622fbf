import { App as AntApp, ConfigProvider } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { useTranslation } from 'react-i18next';
import './i18n.ts';
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { api, session } from './api.ts';
import { Login } from './Login.tsx';
import { Workspace } from './Workspace.tsx';

function Root() {
  const [token, setToken] = useState(session.token);
  return token ? (
    <Workspace
      onLogout={() => {
        // the server revokes the token (and closes its sockets) before it is forgotten here
        void api('/api/v1/auth/logout', { method: 'POST' })
          .catch(() => {})
          .finally(() => {
            session.clear();
            setToken(null);
          });
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

function Localized() {
  const { i18n } = useTranslation();
  return (
    <ConfigProvider locale={i18n.language === 'en' ? enUS : zhCN} theme={{ token: { colorPrimary: '#07c160', borderRadius: 6 } }}>
      <AntApp>
        <Root />
      </AntApp>
    </ConfigProvider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Localized />
  </StrictMode>,
);
