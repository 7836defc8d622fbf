import { Alert, Form, Input, Modal } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from './api.ts';
import { passwordRules, useSubmit } from './forms.ts';

/**
 * Any agent, their own password: the current one, then a new one; their other sessions end. `forced`: the password
 * was set by an admin (a new account, a reset), and the console cannot be used until its owner chooses their own.
 */
export function ChangePasswordModal({ forced = false, onClose, onChanged }: { forced?: boolean; onClose(): void; onChanged(token: string): void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ currentPassword: string; newPassword: string; confirm: string }>();
  const { saving, submit } = useSubmit<{ currentPassword: string; newPassword: string }>(
    async ({ currentPassword, newPassword }) => {
      const r = await api<{ token: string }>('/api/v1/agents/me/password', { method: 'PUT', body: { currentPassword, newPassword } });
      onChanged(r.token);
    },
    onClose,
    '密码已修改，其他设备上的登录已退出',
  );
  return (
    <Modal
      open
      title={t(forced ? '请先修改初始密码' : '修改密码')}
      okText={t('保存')}
      cancelText={t('取消')}
      confirmLoading={saving}
      onOk={() => form.submit()}
      onCancel={onClose}
      closable={!forced}
      mask={{ closable: !forced }}
      keyboard={!forced}
      cancelButtonProps={forced ? { style: { display: 'none' } } : undefined}
      destroyOnHidden
    >
      {forced && <Alert type="info" showIcon style={{ marginBottom: 16 }} title={t('这个密码由管理员设置，请换成只有你自己知道的密码后再开始工作。')} />}
      <Form form={form} layout="vertical" data-testid="password-form" onFinish={submit}>
        <Form.Item name="currentPassword" label={t('当前密码')} rules={[{ required: true, message: t('请输入当前密码') }]}>
          <Input.Password autoComplete="current-password" />
        </Form.Item>
        <Form.Item name="newPassword" label={t('新密码')} rules={passwordRules(t)}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item
          name="confirm"
          label={t('确认新密码')}
          dependencies={['newPassword']}
          rules={[
            { required: true, message: t('请再输入一次新密码') },
            ({ getFieldValue }) => ({
              validator: (_, v) => (!v || v === getFieldValue('newPassword') ? Promise.resolve() : Promise.reject(new Error(t('两次输入的密码不一致')))),
            }),
          ]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
