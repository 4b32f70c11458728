"""Pure decisions of analytics: the row a metric event becomes, the SQL a graph query
becomes, the graph body a result becomes, and the redelivery policy. No I/O here."""
