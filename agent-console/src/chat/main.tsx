import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ChatPage } from './ChatPage.tsx';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ChatPage />
  </StrictMode>,
);
