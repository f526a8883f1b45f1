"""Teams: own services, have members, receive their services' alerts, and (when the org asks
for it) bound what their members see."""
