import { Alert, App, Button, Checkbox, Divider, Drawer, Form, Input, InputNumber, Select, Space, Switch, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { yuan } from '../../shared/format.ts';
import type { Agent } from '../../shared/types.ts';
import { api } from '../api.ts';
import { useLoad } from './useLoad.ts';

interface Variant {
  id: 'A' | 'B';
  weight: number;
  kind: 'text' | 'link' | 'miniprogram';
  text: string;
  title?: string;
  url?: string;
}
interface Playbook {
  id: string;
  name: string;
  enabled: boolean;
  trigger: { type: string; delayMinutes?: number; days?: number; maxCsat?: number; angry?: boolean; hour?: number; dayOfMonth?: number };
  conditions: { segments?: string[]; tiers?: string[]; tagsAny?: string[]; minOrderFen?: number; reachableOnly?: boolean };
  actions: { type: 'send' | 'suggest' | 'ticket' | 'tag'; tag?: string; category?: string }[];
  variants: Variant[];
  coupon: string | null;
  link: string | null;
  attributionHours: number;
}
interface Stats {
  variant: string | null;
  triggered: number;
  sent: number;
  reached: number;
  suggested: number;
  fallback: number;
  recovered: number;
  recoveredFen: number;
  conversion: number | null;
}
interface Report {
  playbooks: { playbookId: string; total: Stats; variants: Stats[] }[];
}
interface Preview {
  total: number;
  counts: Record<string, number>;
  customers: { customerId: string; name: string; verdict: string; channel: string | null }[];
}

const VERDICT: Record<string, string> = {
  send: '将发送',
  act: '将执行',
  quiet_hours: '免打扰时段，稍后发送',
  opted_out: '已退订',
  frequency_cap: '已达频次上限',
  reason_gone: '原因已消失',
  'fallback:window_closed': '超出 48 小时，转客服跟进',
  'fallback:quota_exhausted': '已达 5 条上限，转客服跟进',
  'fallback:agent_active': '正在人工对话，推荐给客服',
  'fallback:no_conversation': '无聊天渠道，生成客服任务',
};
const DELAYED = ['cart_abandoned', 'payment_failed', 'order_cancelled', 'refund', 'unhappy', 'tier_upgrade'];

/** The form's flat values <-> the API's playbook document. */
function toForm(p: Playbook | null) {
  if (!p) return { enabled: true, trigger: { type: 'cart_abandoned', delayMinutes: 120 }, actions: ['send'], attributionHours: 72, a: { kind: 'text', weight: 50 }, b: { weight: 50 } };
  const a = p.variants.find((v) => v.id === 'A');
  const b = p.variants.find((v) => v.id === 'B');
  return {
    name: p.name,
    enabled: p.enabled,
    trigger: p.trigger,
    segments: p.conditions.segments,
    tiers: p.conditions.tiers,
    tagsAny: p.conditions.tagsAny,
    minOrderYuan: p.conditions.minOrderFen !== undefined ? p.conditions.minOrderFen / 100 : undefined,
    reachableOnly: p.conditions.reachableOnly,
    actions: p.actions.map((x) => x.type),
    tag: p.actions.find((x) => x.type === 'tag')?.tag,
    ticketCategory: p.actions.find((x) => x.type === 'ticket')?.category,
    a: a ?? { kind: 'text', weight: 50 },
    b: b ?? { weight: 50 },
    coupon: p.coupon,
    link: p.link,
    attributionHours: p.attributionHours,
  };
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function fromForm(v: any) {
  const variants = [{ id: 'A', ...v.a, weight: v.b?.text ? (v.a.weight ?? 50) : 100 }, ...(v.b?.text ? [{ id: 'B', kind: 'text', ...v.b }] : [])].map((x) =>
    Object.fromEntries(Object.entries(x).filter(([, val]) => val !== undefined && val !== null && val !== '')),
  );
  const conditions: Record<string, unknown> = {};
  if (v.segments?.length) conditions.segments = v.segments;
  if (v.tiers?.length) conditions.tiers = v.tiers;
  if (v.tagsAny?.length) conditions.tagsAny = v.tagsAny;
  if (v.minOrderYuan) conditions.minOrderFen = Math.round(v.minOrderYuan * 100);
  if (v.reachableOnly) conditions.reachableOnly = true;
  const trigger = Object.fromEntries(Object.entries(v.trigger).filter(([, val]) => val !== undefined && val !== null));
  return {
    name: v.name,
    enabled: v.enabled ?? true,
    trigger,
    conditions,
    actions: (v.actions as string[]).map((type) => (type === 'tag' ? { type, tag: v.tag } : type === 'ticket' ? { type, ...(v.ticketCategory ? { category: v.ticketCategory } : {}) } : { type })),
    variants,
    coupon: v.coupon || null,
    link: v.link || null,
    attributionHours: v.attributionHours ?? 72,
  };
}

function Editor({ playbook, triggers, onClose, onSaved }: { playbook: Playbook | null; triggers: Record<string, string>; onClose(): void; onSaved(): void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm();
  const [preview, setPreview] = useState<Preview | null>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const type = Form.useWatch(['trigger', 'type'], form) as string | undefined;
  const actions = (Form.useWatch('actions', form) as string[] | undefined) ?? [];
  const kind = Form.useWatch(['a', 'kind'], form) as string | undefined;
  const call = async (fn: (body: unknown) => Promise<void>) => {
    const v = await form.validateFields();
    try {
      setProblems([]);
      await fn(fromForm(v));
    } catch (e) {
      const err = e as Error & { details?: { path: string; message: string }[] };
      message.error(err.message);
    }
  };
  const save = () =>
    call(async (body) => {
      if (playbook) await api(`/api/v1/playbooks/${playbook.id}`, { method: 'PUT', body });
      else await api('/api/v1/playbooks', { method: 'POST', body });
      message.success(t('已保存'));
      onSaved();
    });
  const runPreview = () => call(async (body) => setPreview(await api<Preview>('/api/v1/playbooks/preview', { method: 'POST', body })));
  return (
    <Drawer open width={720} title={playbook ? playbook.name : t('新建方案')} onClose={onClose} extra={<Space><Button onClick={runPreview} data-testid="playbook-preview">{t('预览人群')}</Button><Button type="primary" onClick={save} data-testid="playbook-save">{t('保存')}</Button></Space>}>
      {problems.length > 0 && <Alert type="error" message={problems.join('；')} />}
      <Form form={form} layout="vertical" initialValues={toForm(playbook)}>
        <Space align="start">
          <Form.Item name="name" label={t('名称')} rules={[{ required: true, max: 64 }]} style={{ width: 360 }}>
            <Input data-testid="playbook-name" />
          </Form.Item>
          <Form.Item name="enabled" label={t('启用')} valuePropName="checked">
            <Switch />
          </Form.Item>
        </Space>
        <Divider titlePlacement="start">{t('触发')}</Divider>
        <Space wrap align="start">
          <Form.Item name={['trigger', 'type']} label={t('触发')} rules={[{ required: true }]}>
            <Select style={{ width: 200 }} data-testid="playbook-trigger" options={Object.entries(triggers).map(([value, label]) => ({ value, label }))} />
          </Form.Item>
          {type && DELAYED.includes(type) && (
            <Form.Item name={['trigger', 'delayMinutes']} label={t('延迟（分钟）')}>
              <InputNumber min={0} max={43200} data-testid="playbook-delay" />
            </Form.Item>
          )}
          {type === 'lapsed' && (
            <Form.Item name={['trigger', 'days']} label={t('未购天数')} rules={[{ required: true }]}>
              <InputNumber min={1} max={3650} />
            </Form.Item>
          )}
          {type === 'unhappy' && (
            <>
              <Form.Item name={['trigger', 'maxCsat']} label="CSAT ≤">
                <InputNumber min={1} max={4} />
              </Form.Item>
              <Form.Item name={['trigger', 'angry']} label="情绪激动" valuePropName="checked">
                <Switch />
              </Form.Item>
            </>
          )}
          {type === 'member_day' && (
            <Form.Item name={['trigger', 'dayOfMonth']} label="每月几号" rules={[{ required: true }]}>
              <InputNumber min={1} max={28} />
            </Form.Item>
          )}
          {(type === 'birthday' || type === 'member_day') && (
            <Form.Item name={['trigger', 'hour']} label="几点发送">
              <InputNumber min={0} max={23} />
            </Form.Item>
          )}
        </Space>
        <Divider titlePlacement="start">{t('条件')}</Divider>
        <Space wrap align="start">
          <Form.Item name="segments" label={t('RFM 分层')}>
            <Select mode="tags" style={{ width: 220 }} options={['高价值', '新客', '潜力', '流失风险', '沉睡', '一般', '未购买'].map((value) => ({ value }))} />
          </Form.Item>
          <Form.Item name="tiers" label={t('会员等级')}>
            <Select mode="multiple" style={{ width: 220 }} options={[{ value: 'normal', label: '普通会员' }, { value: 'silver', label: '白银' }, { value: 'gold', label: '黄金' }, { value: 'diamond', label: '钻石' }]} />
          </Form.Item>
          <Form.Item name="tagsAny" label="标签（任一）">
            <Select mode="tags" style={{ width: 180 }} />
          </Form.Item>
          <Form.Item name="minOrderYuan" label={t('最低订单金额（元）')}>
            <InputNumber min={0} />
          </Form.Item>
          <Form.Item name="reachableOnly" label={t('仅限可触达')} valuePropName="checked">
            <Switch />
          </Form.Item>
        </Space>
        <Divider titlePlacement="start">{t('动作')}</Divider>
        <Form.Item name="actions" rules={[{ required: true, type: 'array', min: 1 }]}>
          <Checkbox.Group
            data-testid="playbook-actions"
            options={[
              { value: 'send', label: t('发送消息') },
              { value: 'suggest', label: t('推荐话术') },
              { value: 'ticket', label: t('创建工单') },
              { value: 'tag', label: t('打标签') },
            ]}
          />
        </Form.Item>
        <Space>
          {actions.includes('tag') && (
            <Form.Item name="tag" label={t('打标签')} rules={[{ required: true, max: 20 }]}>
              <Input style={{ width: 160 }} />
            </Form.Item>
          )}
          {actions.includes('ticket') && (
            <Form.Item name="ticketCategory" label={t('分类')}>
              <Input style={{ width: 160 }} />
            </Form.Item>
          )}
        </Space>
        <Divider titlePlacement="start">{t('话术模板')}</Divider>
        <Typography.Paragraph type="secondary" style={{ fontSize: 12 }}>
          {'{{name}} {{product}} {{amount}} {{coupon}} {{link}} {{tier}}'}
        </Typography.Paragraph>
        <Space align="start" wrap>
          <Form.Item name={['a', 'kind']} label={t('模板 A')}>
            <Select style={{ width: 110 }} options={[{ value: 'text', label: '文字' }, { value: 'link', label: '图文链接' }, { value: 'miniprogram', label: '小程序卡片' }]} />
          </Form.Item>
          <Form.Item name={['a', 'weight']} label="%">
            <InputNumber min={0} max={100} />
          </Form.Item>
          {kind && kind !== 'text' && (
            <Form.Item name={['a', 'title']} label={t('标题')} rules={[{ required: true }]}>
              <Input style={{ width: 200 }} />
            </Form.Item>
          )}
          {kind === 'link' && (
            <Form.Item name={['a', 'url']} label={t('链接')} rules={[{ required: true }]}>
              <Input style={{ width: 240 }} />
            </Form.Item>
          )}
        </Space>
        <Form.Item name={['a', 'text']} rules={[{ required: actions.includes('send') || actions.includes('suggest'), max: 600 }]}>
          <Input.TextArea autoSize={{ minRows: 2 }} data-testid="playbook-text-a" />
        </Form.Item>
        <Space align="start">
          <Typography.Text>{t('模板 B（可选，A/B 测试）')}</Typography.Text>
          <Form.Item name={['b', 'weight']} noStyle>
            <InputNumber min={0} max={100} size="small" addonAfter="%" />
          </Form.Item>
        </Space>
        <Form.Item name={['b', 'text']} style={{ marginTop: 8 }}>
          <Input.TextArea autoSize={{ minRows: 2 }} data-testid="playbook-text-b" />
        </Form.Item>
        <Space wrap>
          <Form.Item name="coupon" label={t('券码')}>
            <Input style={{ width: 160 }} />
          </Form.Item>
          <Form.Item name="link" label={t('链接')}>
            <Input style={{ width: 280 }} />
          </Form.Item>
          <Form.Item name="attributionHours" label="归因窗口（小时）">
            <InputNumber min={1} max={720} />
          </Form.Item>
        </Space>
      </Form>
      {preview && (
        <div data-testid="playbook-preview-result">
          <Divider titlePlacement="start">{t('预览人群')}</Divider>
          <Space wrap style={{ marginBottom: 8 }}>
            {Object.entries(preview.counts).map(([k, n]) => (
              <Tag key={k}>{t(VERDICT[k] ?? k)}：{n}</Tag>
            ))}
            {preview.total === 0 && <Typography.Text type="secondary">当前没有符合的客户</Typography.Text>}
          </Space>
          <Table size="small" rowKey="customerId" pagination={{ pageSize: 8 }} dataSource={preview.customers}
            columns={[{ title: t('客户'), dataIndex: 'name' }, { title: t('渠道'), dataIndex: 'channel' }, { title: t('结果'), dataIndex: 'verdict', render: (v: string) => t(VERDICT[v] ?? v) }]} />
        </div>
      )}
    </Drawer>
  );
}

export default function PlaybooksPage({ me }: { me: Agent }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const { data, loading, reload } = useLoad<{ playbooks: Playbook[]; triggers: Record<string, string> }>('/api/v1/playbooks');
  const report = useLoad<Report>('/api/v1/playbooks/report?days=30');
  const [editing, setEditing] = useState<Playbook | 'new' | null>(null);
  const editable = me.role !== 'agent';
  const stats = new Map((report.data?.playbooks ?? []).map((p) => [p.playbookId, p]));
  const toggle = async (p: Playbook, enabled: boolean) => {
    try {
      const { id: _id, ...rest } = p as Playbook & { key?: string; createdAt?: string; updatedAt?: string };
      const body = { name: rest.name, enabled, trigger: rest.trigger, conditions: rest.conditions, actions: rest.actions, variants: rest.variants, coupon: rest.coupon, link: rest.link, attributionHours: rest.attributionHours };
      await api(`/api/v1/playbooks/${p.id}`, { method: 'PUT', body });
      void reload();
    } catch (e) {
      message.error((e as Error).message);
    }
  };
  return (
    <div data-testid="page-playbooks">
      <Space style={{ marginBottom: 12 }}>
        <Typography.Title level={4} style={{ margin: 0 }}>
          {t('挽回方案')}
        </Typography.Title>
        {editable && (
          <Button type="primary" onClick={() => setEditing('new')} data-testid="playbook-new">
            {t('新建方案')}
          </Button>
        )}
      </Space>
      <Table<Playbook>
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={data?.playbooks ?? []}
        pagination={false}
        data-testid="playbooks-table"
        expandable={{
          rowExpandable: (p) => (stats.get(p.id)?.variants.length ?? 0) > 1,
          expandedRowRender: (p) => (
            <Table size="small" pagination={false} rowKey={(v) => v.variant ?? '-'} dataSource={stats.get(p.id)?.variants ?? []}
              columns={[{ title: 'A/B', dataIndex: 'variant' }, { title: t('已发送'), dataIndex: 'sent' }, { title: t('已挽回'), dataIndex: 'recovered' },
                { title: t('挽回金额'), dataIndex: 'recoveredFen', render: (f: number) => yuan(f) }, { title: t('转化率'), dataIndex: 'conversion', render: (c: number | null) => (c === null ? '—' : `${(c * 100).toFixed(1)}%`) }]} />
          ),
        }}
        columns={[
          { title: t('名称'), dataIndex: 'name' },
          { title: t('触发'), dataIndex: 'trigger', render: (tr: Playbook['trigger']) => <Tag>{data?.triggers[tr.type] ?? tr.type}</Tag> },
          { title: t('动作'), dataIndex: 'actions', render: (a: Playbook['actions']) => a.map((x) => <Tag key={x.type}>{t({ send: '发送消息', suggest: '推荐话术', ticket: '创建工单', tag: '打标签' }[x.type])}</Tag>) },
          { title: t('启用'), dataIndex: 'enabled', render: (on: boolean, p) => <Switch size="small" checked={on} disabled={!editable} onChange={(v) => toggle(p, v)} /> },
          { title: t('触发次数'), key: 'triggered', render: (_, p) => stats.get(p.id)?.total.triggered ?? 0 },
          { title: t('已发送'), key: 'sent', render: (_, p) => stats.get(p.id)?.total.sent ?? 0 },
          { title: t('推荐话术'), key: 'suggested', render: (_, p) => (stats.get(p.id)?.total.suggested ?? 0) + (stats.get(p.id)?.total.fallback ?? 0) },
          { title: t('已挽回'), key: 'recovered', render: (_, p) => stats.get(p.id)?.total.recovered ?? 0 },
          { title: t('挽回金额'), key: 'gmv', render: (_, p) => yuan(stats.get(p.id)?.total.recoveredFen ?? 0) },
          { title: '', key: 'ops', render: (_, p) => editable && <Button size="small" onClick={() => setEditing(p)}>{t('编辑')}</Button> },
        ]}
      />
      {editing && data && (
        <Editor
          playbook={editing === 'new' ? null : editing}
          triggers={data.triggers}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void reload();
            void report.reload();
          }}
        />
      )}
    </div>
  );
}
