// params: $ns, $id
OPTIONAL MATCH (b:Ban {ns: $ns, id: $id})
DELETE b
RETURN count(b) AS removed
