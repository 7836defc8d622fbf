import { Alert, Button, Card, Form, Input, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from './api.ts';

export function Login({ onLogin }: { onLogin: (token: string) => void }) {
  const { t } = useTranslation();
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const submit = async (v: { email: string; password: string }) => {
    setLoading(true);
    setError(null);
    try {
      const r = await api<{ token: string }>('/api/v1/auth/login', { method: 'POST', body: v });
      onLogin(r.token);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setLoading(false);
    }
  };
  return (
    <div style={{ minHeight: '100vh', display: 'grid', placeItems: 'center', background: '#f3f5f7' }}>
      <Card style={{ width: 380 }}>
        <Typography.Title level={3} style={{ marginTop: 0 }}>
          {t('回客 · 客服工作台')}
        </Typography.Title>
        {error && <Alert type="error" title={error} style={{ marginBottom: 16 }} data-testid="login-error" />}
        <Form layout="vertical" onFinish={submit} requiredMark={false}>
          <Form.Item name="email" label={t('邮箱')} rules={[{ required: true, type: 'email', message: t('请输入邮箱') }]}>
            <Input data-testid="login-email" autoComplete="username" placeholder="xiaomei@huike.demo" />
          </Form.Item>
          <Form.Item name="password" label={t('密码')} rules={[{ required: true, message: t('请输入密码') }]}>
            <Input.Password data-testid="login-password" autoComplete="current-password" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={loading} data-testid="login-submit">
            {t('登录')}
          </Button>
          <Typography.Paragraph type="secondary" style={{ marginTop: 12, marginBottom: 0, fontSize: 12 }}>
            {t('忘记密码或账号被锁定？请联系管理员在「团队与客服」重置密码或解锁。')}
          </Typography.Paragraph>
        </Form>
      </Card>
    </div>
  );
}
