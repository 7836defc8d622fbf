import { App } from 'antd';
import type { TFunction } from 'i18next';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';

// the server's rule (core/agents/accounts.ts), checked here too so the admin sees it before sending
export const passwordRules = (t: TFunction) => [
  { required: true, message: t('请输入密码') },
  { min: 8, message: t('密码至少 8 位') },
  {
    validator: (_: unknown, v?: string) =>
      !v || [/[A-Za-z]/, /\d/, /[^A-Za-z\d]/].filter((re) => re.test(v)).length >= 2
        ? Promise.resolve()
        : Promise.reject(new Error(t('密码需包含字母、数字、符号中的至少两种'))),
  },
];

/** A modal form that sends its values and closes on success; the server's message shows on failure. */
export function useSubmit<T>(send: (v: T) => Promise<unknown>, done: () => void, success: string) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [saving, setSaving] = useState(false);
  const submit = async (v: T) => {
    setSaving(true);
    try {
      await send(v);
      message.success(t(success));
      done();
    } catch (e) {
      message.error((e as Error).message);
    } finally {
      setSaving(false);
    }
  };
  return { saving, submit };
}
