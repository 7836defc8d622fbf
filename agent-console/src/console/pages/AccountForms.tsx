import { Form, Input, InputNumber, Modal, Select, Switch } from 'antd';
import { useTranslation } from 'react-i18next';
import type { Agent } from '../../shared/types.ts';
import { api } from '../api.ts';
import { passwordRules, useSubmit } from '../forms.ts';

/** An account as admins see it on the team page. */
export interface AccountRow extends Agent {
  skills: string[];
  maxConcurrent: number;
  disabled?: boolean;
  lockedUntil?: string | null;
  passwordSetAt?: string | null;
  mustChangePassword?: boolean;
}

export const ROLE: Record<string, string> = { agent: '坐席', supervisor: '主管', admin: '管理员' };

interface AgentValues {
  email: string;
  name: string;
  role: Agent['role'];
  teamIds: string[];
  skills: string[];
  maxConcurrent: number;
  password?: string;
}

/** New account (`editing` null) or an existing one's name, role, teams, skills and capacity. */
export function AgentFormModal({ editing, teams, onClose, onSaved }: { editing: AccountRow | null; teams: { id: string; name: string }[]; onClose(): void; onSaved(): void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<AgentValues>();
  const { saving, submit } = useSubmit<AgentValues>(
    ({ email, password, ...rest }) =>
      editing
        ? api(`/api/v1/agents/${editing.id}`, { method: 'PUT', body: rest })
        : api('/api/v1/agents', { method: 'POST', body: { email, password, ...rest } }),
    () => {
      onSaved();
      onClose();
    },
    editing ? '已保存' : '账号已创建，请把初始密码告知本人',
  );
  return (
    <Modal open title={t(editing ? '编辑客服' : '新建客服')} okText={t('保存')} cancelText={t('取消')} confirmLoading={saving} onOk={() => form.submit()} onCancel={onClose} destroyOnHidden>
      <Form
        form={form}
        layout="vertical"
        data-testid="agent-form"
        initialValues={editing ? { ...editing, teamIds: editing.teamIds ?? [] } : { role: 'agent', teamIds: [], skills: [], maxConcurrent: 8 }}
        onFinish={submit}
      >
        <Form.Item name="email" label={t('邮箱')} rules={[{ required: true, type: 'email', message: t('邮箱格式不正确') }]}>
          <Input disabled={!!editing} autoComplete="off" />
        </Form.Item>
        <Form.Item name="name" label={t('姓名')} rules={[{ required: true, whitespace: true, message: t('请填写姓名') }]}>
          <Input maxLength={40} />
        </Form.Item>
        <Form.Item name="role" label={t('角色')}>
          <Select options={Object.entries(ROLE).map(([value, label]) => ({ value, label: t(label) }))} />
        </Form.Item>
        <Form.Item name="teamIds" label={t('客服组')}>
          <Select mode="multiple" options={teams.map((x) => ({ value: x.id, label: x.name }))} />
        </Form.Item>
        <Form.Item name="skills" label={t('技能')}>
          <Select mode="tags" tokenSeparators={[',', '，', '、']} />
        </Form.Item>
        <Form.Item name="maxConcurrent" label={t('上限')}>
          <InputNumber min={1} max={100} />
        </Form.Item>
        {!editing && (
          <Form.Item name="password" label={t('初始密码')} rules={passwordRules(t)}>
            <Input.Password autoComplete="new-password" />
          </Form.Item>
        )}
      </Form>
    </Modal>
  );
}

/** An admin's new password for a colleague: their sessions end, a lockout lifts. */
export function ResetPasswordModal({ agent, onClose, onSaved }: { agent: AccountRow; onClose(): void; onSaved(): void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ password: string }>();
  const { saving, submit } = useSubmit<{ password: string }>(
    (v) => api(`/api/v1/agents/${agent.id}/password`, { method: 'PUT', body: v }),
    () => {
      onSaved();
      onClose();
    },
    '密码已重置，对方需用新密码重新登录',
  );
  return (
    <Modal open title={`${t('重置密码')}：${agent.name}`} okText={t('重置')} cancelText={t('取消')} confirmLoading={saving} onOk={() => form.submit()} onCancel={onClose} destroyOnHidden>
      <p>{t('重置后，对方所有已登录的会话都会退出；若账号已锁定，也会一并解锁。')}</p>
      <Form form={form} layout="vertical" data-testid="reset-form" onFinish={submit}>
        <Form.Item name="password" label={t('新密码')} rules={passwordRules(t)}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
      </Form>
    </Modal>
  );
}

/** A new team; made the default, it takes the tickets no team's categories match. */
export function TeamFormModal({ onClose, onSaved }: { onClose(): void; onSaved(): void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ name: string; categories: string[]; isDefault: boolean }>();
  const { saving, submit } = useSubmit<{ name: string; categories: string[]; isDefault: boolean }>(
    (v) => api('/api/v1/teams', { method: 'POST', body: v }),
    () => {
      onSaved();
      onClose();
    },
    '客服组已创建',
  );
  return (
    <Modal open title={t('新建客服组')} okText={t('保存')} cancelText={t('取消')} confirmLoading={saving} onOk={() => form.submit()} onCancel={onClose} destroyOnHidden>
      <Form form={form} layout="vertical" data-testid="team-form" initialValues={{ categories: [], isDefault: false }} onFinish={submit}>
        <Form.Item name="name" label={t('组名')} rules={[{ required: true, whitespace: true, message: t('请填写组名') }]}>
          <Input maxLength={32} />
        </Form.Item>
        <Form.Item name="categories" label={t('分类')}>
          <Select mode="tags" />
        </Form.Item>
        <Form.Item name="isDefault" label={t('设为默认组（接待未匹配分类的工单）')} valuePropName="checked">
          <Switch size="small" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
