import { App, Button, Form, Input, Modal, Popconfirm, Space, Table, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Agent } from '../../shared/types.ts';
import { api } from '../api.ts';
import { useLoad } from './useLoad.ts';

interface Canned {
  id: string;
  shortcut: string;
  title: string;
  text: string;
  category: string | null;
}

/** 快捷回复: agents type "/" + the shortcut in the reply box; supervisors keep the list. */
export default function CannedPage({ me }: { me: Agent }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const { data, loading, reload } = useLoad<{ canned: Canned[] }>('/api/v1/canned');
  const [editing, setEditing] = useState<Partial<Canned> | null>(null);
  const [form] = Form.useForm();
  const supervisor = me.role !== 'agent';
  const save = async () => {
    const v = await form.validateFields();
    try {
      if (editing?.id) await api(`/api/v1/canned/${editing.id}`, { method: 'PUT', body: { ...v, category: v.category || null } });
      else await api('/api/v1/canned', { method: 'POST', body: { ...v, category: v.category || null } });
      message.success(t('已保存'));
      setEditing(null);
      void reload();
    } catch (e) {
      message.error((e as Error).message);
    }
  };
  return (
    <div data-testid="page-canned">
      <Space style={{ marginBottom: 12 }}>
        <Typography.Title level={4} style={{ margin: 0 }}>
          {t('快捷回复')}
        </Typography.Title>
        {supervisor && (
          <Button type="primary" onClick={() => (form.resetFields(), setEditing({}))} data-testid="canned-new">
            {t('新建快捷回复')}
          </Button>
        )}
      </Space>
      <Typography.Paragraph type="secondary">{t('可用变量：{{name}} 客户称呼，{{agent}} 客服姓名', { name: '{{name}}', agent: '{{agent}}' })}</Typography.Paragraph>
      <Table<Canned>
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={data?.canned ?? []}
        pagination={false}
        columns={[
          { title: t('快捷指令'), dataIndex: 'shortcut', render: (s) => <Typography.Text code>/{s}</Typography.Text> },
          { title: t('标题'), dataIndex: 'title' },
          { title: t('分类'), dataIndex: 'category' },
          { title: t('内容'), dataIndex: 'text' },
          ...(supervisor
            ? [
                {
                  title: '',
                  key: 'ops',
                  render: (_: unknown, row: Canned) => (
                    <Space>
                      <Button size="small" onClick={() => (form.setFieldsValue(row), setEditing(row))}>
                        {t('编辑')}
                      </Button>
                      <Popconfirm title={t('删除')} onConfirm={async () => (await api(`/api/v1/canned/${row.id}`, { method: 'DELETE' }), reload())}>
                        <Button size="small" danger>
                          {t('删除')}
                        </Button>
                      </Popconfirm>
                    </Space>
                  ),
                },
              ]
            : []),
        ]}
      />
      <Modal open={!!editing} title={editing?.id ? t('编辑') : t('新建快捷回复')} onCancel={() => setEditing(null)} onOk={save} okText={t('保存')} cancelText={t('取消')}>
        <Form form={form} layout="vertical">
          <Form.Item name="shortcut" label={t('快捷指令')} rules={[{ required: true, pattern: /^[\w\-\u4e00-\u9fff]{1,20}$/ }]}>
            <Input prefix="/" data-testid="canned-shortcut" />
          </Form.Item>
          <Form.Item name="title" label={t('标题')} rules={[{ required: true, max: 60 }]}>
            <Input data-testid="canned-title" />
          </Form.Item>
          <Form.Item name="category" label={t('分类')}>
            <Input />
          </Form.Item>
          <Form.Item name="text" label={t('内容')} rules={[{ required: true, max: 2000 }]}>
            <Input.TextArea autoSize={{ minRows: 3 }} data-testid="canned-text" />
          </Form.Item>
        </Form>
      </Modal>
    </div>
  );
}
