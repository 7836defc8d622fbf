import { App, Button, Card, Form, Input, List, Modal, Popconfirm, Select, Space, Switch, Table, Tabs, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { time } from '../../shared/format.ts';
import type { Agent } from '../../shared/types.ts';
import { api } from '../api.ts';
import { useLoad } from './useLoad.ts';

interface Entry {
  id: string;
  category: string;
  question: string;
  similar: string[];
  answer: string;
  enabled: boolean;
  hits: number;
}
interface Unanswered {
  id: number;
  text: string;
  decision: string;
  reason: string | null;
  candidates: { id: string; question: string; score: number }[];
  createdAt: string;
}
interface TestResult {
  decision: 'answer' | 'clarify' | 'miss' | 'handoff';
  reason: string | null;
  intent: { category: string; confidence: number } | null;
  candidates: { id: string; question: string; answer: string; score: number; matched: string }[];
}

const DECISION: Record<string, [string, string]> = { answer: ['直接回答', 'green'], clarify: ['反问确认', 'blue'], miss: ['未命中', 'default'], handoff: ['转人工', 'orange'] };

function Entries({ editable }: { editable: boolean }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [q, setQ] = useState('');
  const { data, loading, reload } = useLoad<{ entries: Entry[] }>(`/api/v1/kb/entries${q ? `?q=${encodeURIComponent(q)}` : ''}`);
  const [editing, setEditing] = useState<Partial<Entry> | null>(null);
  const [form] = Form.useForm();
  const save = async () => {
    const v = await form.validateFields();
    try {
      const body = { category: v.category, question: v.question, similar: v.similar ?? [], answer: v.answer, enabled: v.enabled ?? true };
      if (editing?.id) await api(`/api/v1/kb/entries/${editing.id}`, { method: 'PUT', body });
      else await api('/api/v1/kb/entries', { method: 'POST', body: { id: `kb-${Date.now().toString(36)}`, ...body } });
      message.success(t('已保存'));
      setEditing(null);
      void reload();
    } catch (e) {
      message.error((e as Error).message);
    }
  };
  const toggle = async (e: Entry, enabled: boolean) => {
    await api(`/api/v1/kb/entries/${e.id}`, { method: 'PUT', body: { enabled } }).catch((err) => message.error((err as Error).message));
    void reload();
  };
  return (
    <>
      <Space style={{ marginBottom: 12 }}>
        <Input.Search allowClear placeholder={t('问题')} onSearch={setQ} style={{ width: 260 }} data-testid="kb-search" />
        {editable && (
          <Button type="primary" onClick={() => (form.resetFields(), setEditing({}))} data-testid="kb-new">
            {t('新建条目')}
          </Button>
        )}
      </Space>
      <Table<Entry>
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={data?.entries ?? []}
        pagination={{ pageSize: 15 }}
        data-testid="kb-table"
        expandable={{ expandedRowRender: (e) => <div><b>{t('答案')}：</b>{e.answer}<br /><b>{t('相似问法')}：</b>{e.similar.map((s) => <Tag key={s}>{s}</Tag>)}</div> }}
        columns={[
          { title: t('分类'), dataIndex: 'category', width: 90 },
          { title: t('问题'), dataIndex: 'question' },
          { title: t('相似问法'), dataIndex: 'similar', width: 90, render: (s: string[]) => s.length },
          { title: t('命中'), dataIndex: 'hits', width: 70, sorter: (a, b) => a.hits - b.hits },
          { title: t('启用'), dataIndex: 'enabled', width: 70, render: (on: boolean, e) => <Switch size="small" checked={on} disabled={!editable} onChange={(v) => toggle(e, v)} /> },
          ...(editable
            ? [{ title: '', key: 'ops', width: 150, render: (_: unknown, e: Entry) => (
                <Space>
                  <Button size="small" onClick={() => (form.setFieldsValue(e), setEditing(e))} data-testid="kb-edit">{t('编辑')}</Button>
                  <Popconfirm title={t('删除')} onConfirm={async () => (await api(`/api/v1/kb/entries/${e.id}`, { method: 'DELETE' }), reload())}>
                    <Button size="small" danger>{t('删除')}</Button>
                  </Popconfirm>
                </Space>
              ) }]
            : []),
        ]}
      />
      <Modal open={!!editing} width={640} title={editing?.id ? t('编辑') : t('新建条目')} onCancel={() => setEditing(null)} onOk={save} okText={t('保存')} cancelText={t('取消')}>
        <Form form={form} layout="vertical" initialValues={{ enabled: true }}>
          <Form.Item name="category" label={t('分类')} rules={[{ required: true, max: 32 }]}>
            <Input data-testid="kb-category" />
          </Form.Item>
          <Form.Item name="question" label={t('问题')} rules={[{ required: true, max: 500 }]}>
            <Input data-testid="kb-question" />
          </Form.Item>
          <Form.Item name="similar" label={t('相似问法')}>
            <Select mode="tags" tokenSeparators={['\n']} data-testid="kb-similar" />
          </Form.Item>
          <Form.Item name="answer" label={t('答案')} rules={[{ required: true, max: 4000 }]}>
            <Input.TextArea autoSize={{ minRows: 3 }} data-testid="kb-answer" />
          </Form.Item>
          <Form.Item name="enabled" label={t('启用')} valuePropName="checked">
            <Switch />
          </Form.Item>
        </Form>
      </Modal>
    </>
  );
}

function UnansweredInbox({ editable }: { editable: boolean }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const { data, loading, reload } = useLoad<{ questions: Unanswered[] }>('/api/v1/kb/unanswered');
  const resolve = async (u: Unanswered, body: Record<string, unknown>) => {
    try {
      await api(`/api/v1/kb/unanswered/${u.id}/resolve`, { method: 'POST', body });
      message.success(t('已保存'));
      void reload();
    } catch (e) {
      message.error((e as Error).message);
    }
  };
  return (
    <List
      loading={loading}
      dataSource={data?.questions ?? []}
      locale={{ emptyText: '—' }}
      data-testid="kb-unanswered"
      renderItem={(u) => (
        <List.Item
          data-testid="kb-unanswered-item"
          actions={
            editable
              ? [
                  u.candidates[0] && (
                    <Button key="add" size="small" type="primary" data-testid="kb-add-similar" onClick={() => resolve(u, { action: 'add_similar', entryId: u.candidates[0].id })}>
                      {t('加为相似问法')}：{u.candidates[0].question}
                    </Button>
                  ),
                  <Button key="ignore" size="small" onClick={() => resolve(u, { action: 'ignore' })}>
                    {t('忽略')}
                  </Button>,
                ]
              : []
          }
        >
          <List.Item.Meta
            title={<Space>{u.text}<Tag color={DECISION[u.decision]?.[1]}>{t(DECISION[u.decision]?.[0] ?? u.decision)}</Tag></Space>}
            description={
              <span>
                {time(u.createdAt)} · {t('最可能的条目')}：{u.candidates.map((c) => `${c.question} (${c.score})`).join('；') || '—'}
              </span>
            }
          />
        </List.Item>
      )}
    />
  );
}

function TestBox() {
  const { t } = useTranslation();
  const [result, setResult] = useState<TestResult | null>(null);
  const run = async (text: string) => text.trim() && setResult(await api<TestResult>('/api/v1/kb/test', { method: 'POST', body: { text } }));
  return (
    <div>
      <Input.Search placeholder={t('输入客户可能会问的话')} enterButton={t('试一试')} onSearch={run} style={{ maxWidth: 520 }} data-testid="kb-test-input" />
      {result && (
        <Card size="small" style={{ marginTop: 12, maxWidth: 720 }} data-testid="kb-test-result">
          <Space>
            {t('决定')}：<Tag color={DECISION[result.decision][1]} data-testid="kb-test-decision">{t(DECISION[result.decision][0])}</Tag>
            {result.reason && <Tag>{result.reason}</Tag>}
            {result.intent && <span>{t('意图')}：{result.intent.category} ({Math.round(result.intent.confidence * 100)}%)</span>}
          </Space>
          <List
            size="small"
            dataSource={result.candidates}
            renderItem={(c) => (
              <List.Item>
                <List.Item.Meta title={`${c.question} · ${c.score}`} description={c.answer} />
              </List.Item>
            )}
          />
        </Card>
      )}
    </div>
  );
}

export default function KnowledgePage({ me }: { me: Agent }) {
  const { t } = useTranslation();
  const editable = me.role !== 'agent';
  return (
    <div data-testid="page-kb">
      <Typography.Title level={4}>{t('知识库')}</Typography.Title>
      <Tabs
        items={[
          { key: 'entries', label: t('条目'), children: <Entries editable={editable} /> },
          { key: 'unanswered', label: <span data-testid="kb-tab-unanswered">{t('未解决问题')}</span>, children: <UnansweredInbox editable={editable} /> },
          { key: 'test', label: <span data-testid="kb-tab-test">{t('测试机器人')}</span>, children: <TestBox /> },
        ]}
      />
    </div>
  );
}
