/** A conversation's or run's status as a coloured badge. */
export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge status-${status}`} data-testid="status">
      {status}
    </span>
  );
}
