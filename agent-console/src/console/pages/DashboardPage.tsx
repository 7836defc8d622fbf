import { Card, Col, Row, Segmented, Space, Statistic, Table, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { yuan } from '../../shared/format.ts';
import { CHANNEL_LABEL } from '../../shared/labels.ts';
import type { Agent } from '../../shared/types.ts';
import { Chart } from './Chart.tsx';
import { PresenceTag, usePresenceUpdates } from './presence.tsx';
import { useLoad } from './useLoad.ts';

interface Dashboard {
  volumeByChannel: { day: string; channel: string; n: number }[];
  firstResponse: { tickets: number; answered: number; avgMinutes: number | null; p50Minutes: number | null; p90Minutes: number | null };
  resolution: { solved: number; avgMinutes: number | null; p50Minutes: number | null };
  slaBreaches: number;
  bot: { conversations: number; handedOff: number; deflectionRate: number | null };
  csat: { count: number; average: number | null; distribution: { score: number; n: number }[] };
  workload: { agentId: string; name: string; status: string; disconnectedAt: string | null; open: number; solved: number }[];
  recovery: { sent: number; recovered: number; recoveredFen: number };
  rfm: { segment: string; customers: number }[];
}

const mins = (m: number | null) => (m === null ? '—' : m < 60 ? `${m} 分钟` : `${(m / 60).toFixed(1)} 小时`);

/** The supervisor's view of the shop's service: loaded as its own chunk, with the charts. */
export default function DashboardPage(_: { me: Agent }) {
  const { t } = useTranslation();
  const [days, setDays] = useState(7);
  const { data, error, patch } = useLoad<Dashboard>(`/api/v1/reports/dashboard?days=${days}`);
  usePresenceUpdates<Dashboard['workload'][number]>((r) => r.agentId, (update) => patch((d) => (d ? { ...d, workload: update(d.workload) } : d)));
  const volume = useMemo(() => {
    const rows = data?.volumeByChannel ?? [];
    const daysList = [...new Set(rows.map((r) => r.day))].sort();
    const channels = [...new Set(rows.map((r) => r.channel))];
    return {
      tooltip: { trigger: 'axis' },
      legend: { top: 0, data: channels.map((c) => t(CHANNEL_LABEL[c] ?? c)) },
      grid: { left: 40, right: 16, top: 40, bottom: 30 },
      xAxis: { type: 'category', data: daysList },
      yAxis: { type: 'value', minInterval: 1 },
      series: channels.map((c) => ({ name: t(CHANNEL_LABEL[c] ?? c), type: 'bar', stack: 'v', barMaxWidth: 36, data: daysList.map((d) => rows.find((r) => r.day === d && r.channel === c)?.n ?? 0) })),
    };
  }, [data, t]);
  const rfm = useMemo(() => ({ tooltip: { trigger: 'item' }, series: [{ type: 'pie', radius: ['35%', '65%'], data: (data?.rfm ?? []).map((r) => ({ name: r.segment, value: r.customers })) }] }), [data]);
  const csat = useMemo(
    () => ({ grid: { left: 30, right: 10, top: 10, bottom: 24 }, xAxis: { type: 'category', data: ['1', '2', '3', '4', '5'] }, yAxis: { type: 'value', minInterval: 1 }, series: [{ type: 'bar', data: [1, 2, 3, 4, 5].map((s) => data?.csat.distribution.find((d) => d.score === s)?.n ?? 0) }] }),
    [data],
  );
  if (error) return <Typography.Text type="danger">{error}</Typography.Text>;
  return (
    <div data-testid="page-dashboard">
      <Space style={{ marginBottom: 12 }}>
        <Typography.Title level={4} style={{ margin: 0 }}>
          {t('数据看板')}
        </Typography.Title>
        <Segmented value={days} onChange={(v) => setDays(v as number)} options={[{ value: 7, label: t('近 7 天') }, { value: 30, label: t('近 30 天') }]} />
      </Space>
      <Row gutter={[12, 12]}>
        {[
          [t('平均首响'), mins(data?.firstResponse.avgMinutes ?? null), 'stat-first-response'],
          [t('平均解决'), mins(data?.resolution.avgMinutes ?? null), 'stat-resolution'],
          [t('SLA 超时'), data?.slaBreaches ?? 0, 'stat-sla'],
          [t('机器人解决率'), data?.bot.deflectionRate === null || !data ? '—' : `${(data.bot.deflectionRate * 100).toFixed(1)}%`, 'stat-deflection'],
          [t('满意度'), data?.csat.average ?? '—', 'stat-csat'],
          [t('挽回金额'), yuan(data?.recovery.recoveredFen ?? 0), 'stat-recovered'],
        ].map(([title, value, id]) => (
          <Col key={id as string} xs={12} md={8} xl={4}>
            <Card size="small">
              <Statistic title={title} value={value as string} data-testid={id} />
            </Card>
          </Col>
        ))}
        <Col xs={24} xl={16}>
          <Card size="small" title={t('各渠道会话量')}>
            <Chart option={volume} testId="chart-volume" />
          </Card>
        </Col>
        <Col xs={24} xl={8}>
          <Card size="small" title={t('客户分层')}>
            <Chart option={rfm} testId="chart-rfm" />
          </Card>
        </Col>
        <Col xs={24} xl={8}>
          <Card size="small" title={`${t('满意度')}（${data?.csat.count ?? 0}）`}>
            <Chart option={csat} height={200} />
          </Card>
        </Col>
        <Col xs={24} xl={16}>
          <Card size="small" title={t('客服负载')}>
            <Table size="small" rowKey="agentId" pagination={false} dataSource={data?.workload ?? []} data-testid="workload"
              columns={[
                { title: t('姓名'), dataIndex: 'name' },
                { title: t('状态'), dataIndex: 'status', render: (s: string, r: Dashboard['workload'][number]) => <PresenceTag status={s} disconnectedAt={r.disconnectedAt} /> },
                { title: t('进行中'), dataIndex: 'open' },
                { title: t('已解决数'), dataIndex: 'solved' },
              ]} />
          </Card>
        </Col>
      </Row>
    </div>
  );
}
